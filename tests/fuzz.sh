#!/usr/bin/env bash
# Runs every fuzz target for a fixed time each (default 60 s) with cargo-fuzz on the stable
# toolchain (`-s none`: no sanitizer, which needs nightly), and prints how many inputs each tried.
# A crash stops the run and leaves the input under crates/<crate>/fuzz/artifacts/; turn it into a
# regression test beside the code it broke.
# Usage: tests/fuzz.sh [seconds per target] [target ...]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-60}
shift || true
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
ALL=(shoal-resp:parse shoal-commands:commands shoal-store:restore shoal-cluster:bus_decode)
TARGETS=()
for arg in "$@"; do
  for t in "${ALL[@]}"; do [ "${t#*:}" = "$arg" ] && TARGETS+=("$t"); done
done
[ $# -gt 0 ] || TARGETS=("${ALL[@]}")
echo "| target | seconds | inputs tried | coverage (edges) | corpus | crashes |"
echo "|---|---|---|---|---|---|"
for t in "${TARGETS[@]}"; do
  crate=${t%%:*}; target=${t#*:}
  log=$(mktemp)
  if (cd "crates/$crate" && cargo fuzz run -s none "$target" -- -max_total_time="$SECS" -max_len=4096) >"$log" 2>&1; then
    crashes=0
  else
    crashes=1
  fi
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
  runs=$(echo "$done_line" | sed -E 's/^#([0-9]+).*/\1/')
  cov=$(echo "$done_line" | sed -E 's/.*cov: ([0-9]+).*/\1/')
  corp=$(echo "$done_line" | sed -E 's/.*corp: ([0-9]+)\/.*/\1/')
  echo "| $crate/$target | $SECS | ${runs:-?} | ${cov:-?} | ${corp:-?} | $crashes |"
  if [ $crashes -ne 0 ]; then
    grep -E 'panicked|SUMMARY|artifact' "$log" | head -5
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
done
