# Throwaway Redis and PostgreSQL for the demo and the bench (sourced, not run).
#
# start_services DIR  installs redis-server / postgresql if missing (Debian), starts both on free
# loopback ports with their data in DIR, and exports REDIS_URL and POSTGRES_URL.
# stop_services       stops them (call it from an EXIT trap).
# Never touches an existing Redis or PostgreSQL.

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

pg_bin() {
    if [[ -n "${POCKETWATCHER_PG_BIN:-}" ]]; then echo "$POCKETWATCHER_PG_BIN"; return; fi
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

install_missing() {
    local missing=()
    command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
    [[ -n "$(pg_bin)" && -x "$(pg_bin)/initdb" ]] || missing+=(postgresql)
    command -v python3 >/dev/null 2>&1 || missing+=(python3)
    command -v curl >/dev/null 2>&1 || missing+=(curl)
    if ((${#missing[@]})); then
        echo "installing ${missing[*]} (Debian packages)" >&2
        local sudo=()
        [[ $(id -u) -eq 0 ]] || sudo=(sudo)
        local policy=/usr/sbin/policy-rc.d created=0
        if [[ ! -e $policy ]]; then
            printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
            "${sudo[@]}" chmod 755 "$policy"; created=1
        fi
        DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -qq
        DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
        ((created)) && "${sudo[@]}" rm -f "$policy"
    fi
}

as_postgres() {
    if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_services() {
    SERVICES_DIR=$1
    install_missing
    mkdir -p "$SERVICES_DIR"
    local redis_port pg_port bin
    redis_port=$(free_port)
    redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$SERVICES_DIR" --save "" \
        --appendonly yes --appendfsync everysec --daemonize yes \
        --pidfile "$SERVICES_DIR/redis.pid" --logfile "$SERVICES_DIR/redis.log"
    bin=$(pg_bin)
    pg_port=$(free_port)
    mkdir -p "$SERVICES_DIR/pg"
    chmod 755 "$(dirname "$SERVICES_DIR")" "$SERVICES_DIR"
    [[ $(id -u) -eq 0 ]] && chown -R postgres "$SERVICES_DIR"
    as_postgres "$bin/initdb" -D "$SERVICES_DIR/pg" -U postgres --auth=trust --no-sync >/dev/null
    as_postgres "$bin/pg_ctl" -D "$SERVICES_DIR/pg" -l "$SERVICES_DIR/pg.log" -w start \
        -o "-p $pg_port -c listen_addresses=127.0.0.1 -k $SERVICES_DIR -c synchronous_commit=off" >/dev/null
    "$bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres pocketwatcher
    export REDIS_URL="redis://127.0.0.1:$redis_port/"
    export POSTGRES_URL="postgres://postgres@127.0.0.1:$pg_port/pocketwatcher"
    for _ in $(seq 100); do
        redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
}

stop_services() {
    [[ -n "${SERVICES_DIR:-}" ]] || return 0
    [[ -f "$SERVICES_DIR/redis.pid" ]] && kill "$(cat "$SERVICES_DIR/redis.pid")" 2>/dev/null || true
    as_postgres "$(pg_bin)/pg_ctl" -D "$SERVICES_DIR/pg" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$SERVICES_DIR"
}
