#!/usr/bin/env bash
# The project's test command: bash scripts/test.sh
#
# 1. Installs what the integration tests need if it is missing (Debian: redis-server, postgresql,
#    prometheus; apt-get update runs once, only when something is missing). No service is started:
#    the tests start their own throwaway Redis / PostgreSQL / Prometheus on free ports
#    (tests/support/).
# 2. cargo fmt --check, cargo clippy -D warnings, cargo test --all-targets, cargo test --doc.
#
# Environment:
#   CARGO_TEST_ARGS             extra arguments appended to `cargo test` (filters, `-- --nocapture`,
#                               or target selection such as `--test support_smoke`, in which case
#                               only that `cargo test` runs, without --all-targets / --doc)
#   POCKETWATCHER_REDIS_SERVER  path of the redis-server binary (default: redis-server on PATH)
#   POCKETWATCHER_PG_BIN        directory holding initdb/pg_ctl/pg_isready/createdb
#                               (default: newest /usr/lib/postgresql/*/bin)
#   POCKETWATCHER_PROMETHEUS    path of the prometheus binary (default: prometheus on PATH, then
#                               /usr/bin/prometheus); tests/dashboard.rs runs it
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

fmt_color=()
if [[ ! -t 1 ]]; then
    export CARGO_TERM_COLOR=never
    fmt_color=(--color never) # rustfmt does not follow CARGO_TERM_COLOR
fi

section() { printf '\n==> %s\n' "$*"; }

# --- system packages ---------------------------------------------------------------------------

have_redis() {
    if [[ -n "${POCKETWATCHER_REDIS_SERVER:-}" ]]; then
        [[ -x "$POCKETWATCHER_REDIS_SERVER" ]]
    else
        command -v redis-server >/dev/null 2>&1
    fi
}

have_postgres() {
    local dir
    if [[ -n "${POCKETWATCHER_PG_BIN:-}" ]]; then
        dir=$POCKETWATCHER_PG_BIN
        [[ -x "$dir/initdb" && -x "$dir/pg_ctl" && -x "$dir/pg_isready" && -x "$dir/createdb" ]]
        return
    fi
    for dir in /usr/lib/postgresql/*/bin; do
        if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" && -x "$dir/pg_isready" && -x "$dir/createdb" ]]; then
            return 0
        fi
    done
    return 1
}

have_prometheus() {
    if [[ -n "${POCKETWATCHER_PROMETHEUS:-}" ]]; then
        [[ -x "$POCKETWATCHER_PROMETHEUS" ]]
    else
        command -v prometheus >/dev/null 2>&1 || [[ -x /usr/bin/prometheus ]]
    fi
}

missing=()
have_redis || missing+=(redis-server)
have_postgres || missing+=(postgresql)
# The dashboard check (tests/dashboard.rs) runs every PromQL query of the Grafana dashboard
# through a real Prometheus.
have_prometheus || missing+=(prometheus)
# Running as root, PostgreSQL is run as the `postgres` OS user through runuser (util-linux).
if [[ $(id -u) -eq 0 ]] && ! command -v runuser >/dev/null 2>&1; then
    missing+=(util-linux)
fi
# A C compiler/linker is needed by cargo itself and by aws-lc-sys.
command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)

if ((${#missing[@]})); then
    section "installing ${missing[*]}"
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "missing: ${missing[*]}; no apt-get here, install them yourself" >&2
        exit 1
    fi
    sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 || { echo "missing: ${missing[*]}; need root or sudo to install" >&2; exit 1; }
        sudo=(sudo)
    fi
    # Keep the distro's services from being started by the packages' maintainer scripts
    # (tests never use them; there may be no init system anyway).
    policy=/usr/sbin/policy-rc.d
    created_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
        "${sudo[@]}" chmod 755 "$policy"
        created_policy=1
    fi
    cleanup_policy() { if ((created_policy)); then "${sudo[@]}" rm -f "$policy"; fi; }
    trap cleanup_policy EXIT
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
    cleanup_policy
    created_policy=0
    trap - EXIT
    have_redis || { echo "redis-server still missing after install" >&2; exit 1; }
    have_postgres || { echo "PostgreSQL server binaries still missing after install" >&2; exit 1; }
    have_prometheus || { echo "prometheus still missing after install" >&2; exit 1; }
fi

# --- cargo -----------------------------------------------------------------------------------------

test_args=()
if [[ -n "${CARGO_TEST_ARGS:-}" ]]; then
    read -r -a test_args <<<"$CARGO_TEST_ARGS"
fi
# Does CARGO_TEST_ARGS pick targets itself (then --all-targets / --doc would override or clash)?
selects_targets=0
for arg in ${test_args[@]+"${test_args[@]}"}; do
    [[ $arg == -- ]] && break
    case $arg in
    --lib | --bins | --bin | --bin=* | --tests | --test | --test=* | --benches | --bench | --bench=* | \
        --examples | --example | --example=* | --doc | --all-targets)
        selects_targets=1
        ;;
    esac
done

section "cargo fmt --check"
cargo fmt --all -- --check ${fmt_color[@]+"${fmt_color[@]}"}

section "cargo clippy --all-targets -D warnings"
cargo clippy --all-targets -- -D warnings

if ((selects_targets)); then
    section "cargo test ${test_args[*]}"
    cargo test "${test_args[@]}"
else
    section "cargo test --all-targets ${test_args[*]+${test_args[*]}}"
    cargo test --all-targets ${test_args[@]+"${test_args[@]}"}

    section "cargo test --doc ${test_args[*]+${test_args[*]}}"
    cargo test --doc ${test_args[@]+"${test_args[@]}"}
fi

section "all checks passed"
