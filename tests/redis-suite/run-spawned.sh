#!/usr/bin/env bash
# Runs units of Redis 7.0.15's test suite in spawned mode: the suite starts shoal-server itself
# (linked as src/redis-server in a scratch copy), with tests/assets/default.conf plus each test's
# overrides, so units external mode cannot run (networking, info, acl, auth, ...) can be used.
#
#   tests/redis-suite/run-spawned.sh target/release/shoal-server unit/networking [unit/info ...]
#   tests/redis-suite/run-spawned.sh --tls target/release/shoal-server unit/tls
#
# --tls runs the suite in TLS mode (servers on tls-port only, clients over TLS; needs Tcl's tls
# package, Debian's tcl-tls), with certificates made by gen-test-certs.sh.
# SPAWNED_BASEPORT (default 26000) moves the ports the suite uses (its own and the servers'), so
# runs can go side by side.
# SPAWNED_ARGS passes more runtest arguments, e.g. SPAWNED_ARGS="--skiptest /ciphers" (unit/tls:
# its cipher tests need the CBC suites rustls does not have, and their CONFIG SET error ends the
# unit before the tests after them).
#
# default.conf asks for two things shoal refuses rather than pretend (it keeps no snapshots and
# has no keyspace notifications yet): the scratch copy leaves out `save 900 1` and
# `notify-keyspace-events KEA`, and its pidfile (/var/run). Everything else is taken as written.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TLS=()
if [ "${1:-}" = --tls ]; then TLS=(--tls); shift; fi
BIN=$(realpath "${1:?usage: run-spawned.sh <shoal-server> <unit>...}")
shift
[ $# -gt 0 ] || { echo "name at least one unit"; exit 2; }
WORK=$(mktemp -d /tmp/shoal-spawned.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cp -r "$HERE/tests" "$HERE/runtest" "$WORK/"
mkdir -p "$WORK/src" "$WORK/tests/tmp"
ln -s "$BIN" "$WORK/src/redis-server"
ln -s "$(command -v redis-cli)" "$WORK/src/redis-cli"
ln -s "$(command -v redis-benchmark)" "$WORK/src/redis-benchmark" 2>/dev/null || true
sed -i -e '/^save 900 1$/d' -e '/^notify-keyspace-events KEA$/d' -e '/^pidfile /d' \
  "$WORK/tests/assets/default.conf"
if [ ${#TLS[@]} -gt 0 ]; then bash "$HERE/gen-test-certs.sh" "$WORK/tests/tls"; fi
TAGS="-needs:repl -needs:debug -needs:pfdebug -needs:save -needs:latency"
cd "$WORK" || exit 2
for u in "$@"; do
  # shellcheck disable=SC2086
  TERM=dumb timeout -k 10 600 ./runtest "${TLS[@]}" ${SPAWNED_ARGS:-} --single "$u" --clients 1 --baseport "${SPAWNED_BASEPORT:-26000}" \
    --ignore-encoding --ignore-digest --tags "$TAGS" </dev/null 2>&1 | tee "$WORK/log" |
    grep -E '^\[(ok|err|exception|TIMEOUT)\]' | cut -c1-160
  echo "$u: $(grep -c '^\[ok\]' "$WORK/log") passed, $(grep -c '^\[err\]' "$WORK/log") failed"
done
