#!/usr/bin/env bash
# Builds the `shoal:latest` image with no registry at all: a root filesystem holding the release
# binary (and redis-cli, for health checks, when it is installed) plus exactly the shared
# libraries they link, imported with `docker import`. Users with a registry can use the
# Dockerfile beside this script instead.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${1:-shoal:latest}
cargo build --release --bin shoal-server
TARGET=${CARGO_TARGET_DIR:-target}
ROOT=$(mktemp -d)
trap 'rm -rf "$ROOT"' EXIT
mkdir -p "$ROOT/bin" "$ROOT/data" "$ROOT/tmp" "$ROOT/etc"
cp "$TARGET/release/shoal-server" "$ROOT/bin/"
if command -v redis-cli >/dev/null; then cp "$(command -v redis-cli)" "$ROOT/bin/"; fi
for bin in "$ROOT"/bin/*; do
  ldd "$bin" | awk '/=> \// {print $3} /^[[:space:]]*\/.*ld-linux/ {print $1}' | while read -r lib; do
    mkdir -p "$ROOT$(dirname "$lib")"
    cp -L "$lib" "$ROOT$lib"
  done
done
printf 'hosts: files dns\n' >"$ROOT/etc/nsswitch.conf"
tar -C "$ROOT" -c . | docker import \
  --change 'ENTRYPOINT ["/bin/shoal-server"]' \
  --change 'CMD ["--port", "6379", "--protected-mode", "no"]' \
  --change 'WORKDIR /data' \
  --change 'EXPOSE 6379 16379' \
  - "$IMAGE" >/dev/null
echo "built $IMAGE ($(docker image inspect "$IMAGE" --format '{{.Size}}') bytes)"
