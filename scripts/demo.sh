#!/usr/bin/env bash
# Runs Pocketwatcher on a bundled replay of real mainnet transactions — no paid feed needed.
#
#   bash scripts/demo.sh [RATE]        (default 200 transactions per second)
#   POCKETWATCHER_BIN=target/debug/pocketwatcher bash scripts/demo.sh   (skip the release build)
#
# Starts throwaway Redis and PostgreSQL in a temp dir (never touches an existing server; set
# POCKETWATCHER_REDIS_URL and POCKETWATCHER_POSTGRES_URL to use your own), a fake Yellowstone gRPC
# server that streams tests/fixtures/mainnet with fresh signatures and wallets, and the daemon
# (`run --role all`). Prints what the daemon counted every 5 s; Ctrl-C stops everything.
#
# Alerts go to a local Discord stand-in (scripts/soak/chat_standin.py, which logs what it
# receives in the temp dir) unless POCKETWATCHER_DISCORD_WEBHOOK_URL is set. Each line shows the
# deliveries (sent alone / coalesced into digests / waiting) and the worst delivery delay so far;
# the last lines, at Ctrl-C, give the worst delay against the freshness bound
# (alerts.max_delivery_delay_secs; MAX_DELAY=SECS overrides the default 300 for the demo).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/services.sh
rate=${1:-200}
work=$(mktemp -d /tmp/pw-demo.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    stop_services
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

if [[ -n "${POCKETWATCHER_REDIS_URL:-}" && -n "${POCKETWATCHER_POSTGRES_URL:-}" ]]; then
    REDIS_URL=$POCKETWATCHER_REDIS_URL
    POSTGRES_URL=$POCKETWATCHER_POSTGRES_URL
else
    start_services "$work/services"
fi
if [[ -n "${POCKETWATCHER_BIN:-}" ]]; then
    bin=$POCKETWATCHER_BIN    # a binary already built (e.g. target/debug/pocketwatcher)
else
    echo "building (release)..." >&2
    cargo build --release --quiet
    bin=./target/release/pocketwatcher
fi
geyser_port=$(free_port)
metrics_port=$(free_port)
max_delay=${MAX_DELAY:-300}
discord_url=${POCKETWATCHER_DISCORD_WEBHOOK_URL:-}
if [[ -z "$discord_url" ]]; then
    chat_port=$(free_port)
    python3 scripts/soak/chat_standin.py --port "$chat_port" --log "$work/discord.jsonl" \
        --p429 0 --p5xx 0 > "$work/discord-standin.log" 2>&1 &
    pids+=($!)
    discord_url="http://127.0.0.1:$chat_port/api/webhooks/1/demo"
fi
# The six default triggers, plus one demo trigger with a low threshold so that the replayed traffic
# (copies of a few dozen real transactions over many mints) shows the alert path at work.
cp config/triggers.example.toml "$work/triggers.toml"
cat >> "$work/triggers.toml" <<'TOML'

[[triggers]]
name = "demo_busy_token"
description = "Demo only: a token bought 25 times in 5 minutes"
conditions = ["buy_count_5m >= 25", "unique_buyers_5m >= 5"]
TOML
cat > "$work/demo.toml" <<TOML
[redis]
url = "$REDIS_URL"
[postgres]
url = "$POSTGRES_URL"
[yellowstone]
endpoint = "http://127.0.0.1:$geyser_port"
[metrics]
listen = "127.0.0.1:$metrics_port"
[detect]
triggers_file = "$work/triggers.toml"
[alerts]
discord_webhook_url = "$discord_url"
max_delivery_delay_secs = $max_delay
[log]
level = "info"
TOML
"$bin" fake-geyser --listen "127.0.0.1:$geyser_port" --fixtures tests/fixtures/mainnet \
    --rate "$rate" > "$work/fake-geyser.log" 2>&1 &
pids+=($!)
"$bin" run --config "$work/demo.toml" --role all > "$work/daemon.log" 2>&1 &
daemon_pid=$!
pids+=($daemon_pid)
echo "daemon running; metrics: http://127.0.0.1:$metrics_port/metrics; logs in $work" >&2
echo "Ctrl-C to stop." >&2
redis_port=${REDIS_URL##*:}; redis_port=${redis_port%%/*}
pg_port=${POSTGRES_URL##*:}; pg_port=${pg_port%%/*}
sql() { "$(pg_bin)/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -d pocketwatcher -tAc "$1" 2>/dev/null; }
# Delivery delay of each alert on each channel: its own message's time, its digest's time, or (still
# waiting) its age now. The worst of these is what the freshness bound keeps from growing.
deliveries_sql="SELECT count(*) FILTER (WHERE d.status = 'sent') || ' sent, ' || \
count(*) FILTER (WHERE d.status = 'coalesced') || ' coalesced in ' || count(DISTINCT d.digest_id) || \
' digests, ' || count(*) FILTER (WHERE d.status = 'pending') || ' waiting; worst delay ' || \
coalesce(round(max(extract(epoch FROM coalesce(g.sent_at, d.sent_at, now()) - a.created_at)))::text, '-') || ' s' \
FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id LEFT JOIN alert_digests g ON g.id = d.digest_id"
summary() {
    local line
    line=$(sql "$deliveries_sql" || true)
    if [[ -n "$line" ]]; then
        printf 'discord deliveries at exit: %s (bound: %s s + one rate-limit interval)\n' "$line" "$max_delay" >&2
    fi
}
trap 'summary; cleanup' EXIT
trap 'exit 130' INT TERM
while sleep 5; do
    kill -0 "$daemon_pid" 2>/dev/null || { echo "daemon exited; see $work/daemon.log" >&2; tail -20 "$work/daemon.log" >&2; exit 1; }
    metrics=$(curl -s "http://127.0.0.1:$metrics_port/metrics" 2>/dev/null || true)
    value() { awk -v m="$1" '$1 ~ "^"m"({|$)" { s += $NF } END { printf "%d", s }' <<<"$metrics"; }
    swaps=$(value pocketwatcher_swaps_total)
    processed=$(value pocketwatcher_entries_processed_total)
    rows=$("$(pg_bin)/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -d pocketwatcher -tAc \
        "SELECT count(*) FROM swap_events" 2>/dev/null || echo "?")
    top=$("$(pg_bin)/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -d pocketwatcher -tAc \
        "SELECT left(base_mint, 8) || '…: ' || count(*) FILTER (WHERE side = 'buy') || ' buys / ' || count(*) FILTER (WHERE side = 'sell') || ' sells' FROM swap_events GROUP BY base_mint ORDER BY count(*) DESC LIMIT 3" 2>/dev/null | paste -sd ';' || true)
    alerts=$("$(pg_bin)/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -d pocketwatcher -tAc \
        "SELECT count(*) || ' (latest: ' || coalesce((SELECT trigger_name || ' on ' || left(mint, 8) || '…' FROM alerts ORDER BY id DESC LIMIT 1), 'none') || ')' FROM alerts" 2>/dev/null || echo "?")
    delivered=$(sql "$deliveries_sql" || echo "?")
    printf '%s  processed %s  swaps %s  rows %s  alerts %s  | top mints: %s\n' "$(date +%T)" "$processed" "$swaps" "$rows" "$alerts" "$top"
    printf '          discord: %s\n' "$delivered"
done
