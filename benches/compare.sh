#!/usr/bin/env bash
# Compare shoal-server and redis-server under redis-benchmark in one run (see compare.py).
# Usage: benches/compare.sh [--rounds N] [--requests N] [--threads-scaling]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin shoal-server >/dev/null
exec python3 benches/compare.py "$@"
