#!/usr/bin/env bash
# Soak: the whole system for hours, with faults, then checks and a report.
#
#   bash scripts/soak.sh [HOURS] [RATE]     (defaults: 1 hour, 2000 transactions per second)
#   MINUTES=3 bash scripts/soak.sh 0 300    (MINUTES wins over HOURS; HOURS may be fractional)
#
# Starts throwaway Redis and PostgreSQL (scripts/lib/services.sh, free ports, a temp dir), the
# fake Yellowstone feed at RATE with a ledger of what it sent, Discord and Telegram stand-ins that
# answer 429/5xx now and then, `run --role ingest`, two `consume` and two `detect` (each restarted
# as systemd would), and faults on a schedule (per hour: kill -9 of a random daemon every 10 min,
# one Redis restart, one PostgreSQL restart, one 60 s feed outage, 3 poison entries; scaled down
# for shorter runs). Samples every SOAK_SAMPLE_SECS (5). At the end it drains, checks and writes
# report.md, samples.csv and soak.png into OUT (default: soak-<UTC time> under the temp dir, kept).
# Exit 1 when a check fails. See README.md, "Soak test".
#
# Environment: MINUTES; OUT; POCKETWATCHER_BIN (a built binary; default: cargo build --release);
# SOAK_PLOTS=0 (no venv / matplotlib, no PNG); SOAK_SEED; SOAK_SAMPLE_SECS; SOAK_RSS_SLOPE_MB_H
# (default 20); SOAK_REDIS_SLOPE_MB_H (default 25 per 1,000 tx/s, after the fill horizon); SOAK_DRAIN_SECS;
# SOAK_FRESH_WALLETS (per mille of wallet draws by never-seen wallets, default 0).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/services.sh
hours=${1:-1}
rate=${2:-2000}
if [[ -n "${MINUTES:-}" ]]; then
    seconds=$(python3 -c "print(float('$MINUTES') * 60)")
else
    seconds=$(python3 -c "print(float('$hours') * 3600)")
fi
work=$(mktemp -d /tmp/pw-soak.XXXXXX)
out=${OUT:-$work/soak-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
trap 'stop_services' EXIT
start_services "$work/services"

if [[ -n "${POCKETWATCHER_BIN:-}" ]]; then
    bin=$POCKETWATCHER_BIN
else
    echo "building (release)..." >&2
    cargo build --release --quiet
    bin=$PWD/target/release/pocketwatcher
fi

python=python3
if [[ "${SOAK_PLOTS:-1}" != 0 ]]; then
    # matplotlib in a venv of its own (PyPI at install time, offline afterwards).
    venv=${SOAK_VENV:-$HOME/.cache/pocketwatcher/soak-venv}
    if [[ ! -x $venv/bin/python ]] || ! "$venv/bin/python" -c 'import matplotlib' 2>/dev/null; then
        if ! python3 -m venv "$venv" 2>/dev/null; then
            echo "installing python3-venv (Debian package)" >&2
            sudo=(); [[ $(id -u) -eq 0 ]] || sudo=(sudo)
            DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq python3-venv >/dev/null ||
                { DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -qq &&
                  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq python3-venv >/dev/null; }
            rm -rf "$venv"; python3 -m venv "$venv"
        fi
        "$venv/bin/pip" install -q matplotlib
    fi
    python=$venv/bin/python
fi

echo "soak: ${seconds} s at ${rate} tx/s; report in $out" >&2
BIN=$bin OUT=$out SOAK_SECONDS=$seconds SOAK_RATE=$rate PG_BIN=$(pg_bin) \
    SERVICES_DIR=$SERVICES_DIR REDIS_URL=$REDIS_URL POSTGRES_URL=$POSTGRES_URL \
    "$python" scripts/soak/soak.py
