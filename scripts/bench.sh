#!/usr/bin/env bash
# Whole-pipeline benchmark on throwaway Redis and PostgreSQL:
#   bash scripts/bench.sh [COUNT] [RATE] [BENCH OPTIONS…]
#   (defaults: 500000 transactions, unlimited rate; options go to `pocketwatcher bench`, e.g.
#   `--roles`, `--mode drain`, `--json`)
# Environment: POCKETWATCHER_BIN=path benches that binary instead of building target/release
# (to measure an older build back to back with the current one); CONSUME_LINGER_MS=n sets
# `[consume] linger_ms` (default: the daemon's own).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/services.sh
count=${1:-500000}
rate=${2:-0}
shift $(( $# > 2 ? 2 : $# ))
work=$(mktemp -d /tmp/pw-bench.XXXXXX)
trap 'stop_services' EXIT
start_services "$work/services"
bin=${POCKETWATCHER_BIN:-}
if [[ -z "$bin" ]]; then
  cargo build --release --quiet
  bin=./target/release/pocketwatcher
fi
linger=""
if [[ -n "${CONSUME_LINGER_MS:-}" ]]; then
  linger="linger_ms = ${CONSUME_LINGER_MS}"
fi
cat > "$work/bench.toml" <<TOML
[redis]
url = "$REDIS_URL"
pool_size = 16
[postgres]
url = "$POSTGRES_URL"
pool_size = 4
[ingest]
batch_size = 1000
[consume]
read_count = 2000
pipeline_depth = 4
$linger
[log]
level = "warn"
TOML
"$bin" bench --config "$work/bench.toml" --count "$count" --rate "$rate" "$@"
