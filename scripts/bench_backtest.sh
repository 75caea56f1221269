#!/usr/bin/env bash
# Backtest benchmark on a throwaway PostgreSQL: fills swap_events with ROWS synthetic swaps spread
# over one day (generated inside PostgreSQL, never held by a client), then runs
# `pocketwatcher backtest` over that day (running: the built-in triggers; candidate: one trigger) and
# reports swaps/s and the backtest's peak RSS.
#   bash scripts/bench_backtest.sh [ROWS] [MINTS] [WALLETS]   (defaults: 2000000 20000 200000)
# PROFILE=debug uses target/debug (no release build); default: release.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/services.sh
rows=${1:-2000000}
mints=${2:-20000}
wallets=${3:-200000}
profile=${PROFILE:-release}
work=$(mktemp -d /tmp/pw-bench-backtest.XXXXXX)
trap 'stop_services; rm -rf "$work"' EXIT
start_services "$work/services"
if [[ $profile == release ]]; then cargo build --release --quiet; else cargo build --quiet; fi
bin=./target/$profile/pocketwatcher
cat > "$work/bench.toml" <<TOML
[redis]
url = "$REDIS_URL"
[postgres]
url = "$POSTGRES_URL"
[log]
level = "warn"
TOML
"$bin" migrate --config "$work/bench.toml" >/dev/null
psql=("$(pg_bin)/psql" -X -q -v ON_ERROR_STOP=1 "$POSTGRES_URL")
# Base58 keys for the mints and wallets (32 random bytes each), loaded into two helper tables.
python3 - "$mints" "$wallets" "$work" <<'PY'
import os, sys
A = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
def b58(b):
    n = int.from_bytes(b, 'big'); s = ''
    while n:
        n, r = divmod(n, 58); s = A[r] + s
    return '1' * (len(b) - len(b.lstrip(b'\0'))) + s
for name, count in (('mints', int(sys.argv[1])), ('wallets', int(sys.argv[2]))):
    with open(os.path.join(sys.argv[3], name + '.csv'), 'w') as f:
        for i in range(count):
            f.write(f"{i},{b58(os.urandom(32))}\n")
PY
"${psql[@]}" <<SQL
CREATE TABLE bench_mints (id int PRIMARY KEY, key text COLLATE "C");
CREATE TABLE bench_wallets (id int PRIMARY KEY, key text COLLATE "C");
\copy bench_mints FROM '$work/mints.csv' CSV
\copy bench_wallets FROM '$work/wallets.csv' CSV
SQL
t0=$(( ($(date +%s) / 86400 - 2) * 86400 ))
echo "generating $rows swaps over one day ($mints mints, $wallets wallets)..." >&2
started=$(date +%s)
# Skewed like mainnet: a few mints take most of the flow (mint id = MINTS * u^3).
"${psql[@]}" <<SQL
SET synchronous_commit = off;
INSERT INTO swap_events (signature, leg, slot, block_time, venue, user_wallet, side, base_mint,
    base_amount, base_decimals, quote_mint, quote_amount, quote_decimals, sol_value_lamports)
SELECT 'bench' || g, 0, g, $t0 + ((g - 1)::bigint * 86400 / $rows), 'pumpswap', w.key,
    CASE WHEN g % 5 < 3 THEN 'buy' ELSE 'sell' END, m.key,
    1000000 + (g % 997) * 1000, 6, 'So11111111111111111111111111111111111111112', q, 9, q
FROM (SELECT g, floor(power(random(), 3) * $mints)::int AS mi,
             floor(random() * $wallets)::int AS wi,
             (10000000 + floor(random() * 2000000000))::bigint AS q
      FROM generate_series(1, $rows) g) s
JOIN bench_mints m ON m.id = s.mi JOIN bench_wallets w ON w.id = s.wi;
ANALYZE swap_events;
SQL
echo "generated in $(( $(date +%s) - started )) s; running the backtest..." >&2
python3 - "$bin" "$work/bench.toml" "$t0" "$work/report.json" <<'PY'
import json, resource, subprocess, sys, time
bin, config, t0, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
# The running set is the built-in defaults; the candidate, one of them with a higher bar.
cand = config.replace('bench.toml', 'candidate.toml')
open(cand, 'w').write('''[[triggers]]
name = "concentrated_accumulation"
conditions = ["buy_count_5m >= 30", "unique_buyers_5m <= 5"]
''')
started = time.monotonic()
with open(out, 'w') as f:
    subprocess.run([bin, 'backtest', '--config', config, '--triggers', cand, '--from', str(t0),
                    '--to', str(t0 + 86400), '--mcap', 'off', '--json'], stdout=f, check=True)
wall = time.monotonic() - started
rss_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
r = json.load(open(out))
alerts = sum(len(s['alerts']) for s in r['sets'])
print(f"backtest: {r['swaps']} swaps in {r['seconds']:.1f} s = {r['swaps_per_second']:.0f} swaps/s "
      f"(wall {wall:.1f} s incl. outcomes), peak RSS {rss_kib / 1024:.0f} MiB, {alerts} alerts")
PY
