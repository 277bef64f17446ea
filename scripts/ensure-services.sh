#!/usr/bin/env bash
# Make sure PostgreSQL and RabbitMQ are reachable; start them when they are
# installed on this machine but not running, and wait until they are ready.
#
# Environment (defaults in brackets):
#   PG_HOST [127.0.0.1]  PG_PORT [5432]  PG_USER [postgres]
#   AMQP_HOST [127.0.0.1]  AMQP_PORT [5672]
#   SERVICE_WAIT_SECS [90]  how long to wait for each service to come up
#
# Exit status 0 when both are ready, 1 otherwise (with instructions on stderr).
set -euo pipefail

PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
PG_USER=${PG_USER:-postgres}
AMQP_HOST=${AMQP_HOST:-127.0.0.1}
AMQP_PORT=${AMQP_PORT:-5672}
SERVICE_WAIT_SECS=${SERVICE_WAIT_SECS:-90}

log() { printf '[ensure-services] %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }

is_local_host() {
    case "$1" in
        127.0.0.1 | localhost | ::1 | "$(hostname 2>/dev/null || true)") return 0 ;;
        *) return 1 ;;
    esac
}

# TCP connect with a short timeout, no external tools needed.
tcp_open() {
    # shellcheck disable=SC2016 # expanded by the inner bash
    timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" >/dev/null 2>&1
}

# TCP connect plus the AMQP 0-9-1 protocol header; a broker answers with a
# method frame (first byte 0x01, Connection.Start). Proves an AMQP broker
# listens, not merely something accepting TCP connections.
amqp_open() {
    # shellcheck disable=SC2016 # expanded by the inner bash
    timeout 5 bash -c '
        exec 3<>"/dev/tcp/$1/$2" || exit 1
        printf "AMQP\x00\x00\x09\x01" >&3
        IFS= read -r -N 1 -t 4 frame <&3 || exit 1
        [[ $frame == $'"'"'\x01'"'"' ]]
    ' _ "$1" "$2" >/dev/null 2>&1
}

# ---------------------------------------------------------------- PostgreSQL

pg_ready() {
    if have pg_isready; then
        pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -t 3
    else
        tcp_open "$PG_HOST" "$PG_PORT"
    fi
}

# Prints "<version> <cluster>" of the local cluster configured on PG_PORT.
pg_local_cluster() {
    if have pg_lsclusters; then
        local match
        match=$(pg_lsclusters -h 2>/dev/null | awk -v p="$PG_PORT" '$3 == p { print $1, $2; exit }')
        if [[ -n $match ]]; then echo "$match"; return 0; fi
        return 1
    fi
    if [[ -d /etc/postgresql ]]; then
        local ver
        ver=$(find /etc/postgresql -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null | sort -V | tail -n 1)
        if [[ -n $ver && -d /etc/postgresql/$ver/main ]]; then
            echo "$ver main"
            return 0
        fi
    fi
    return 1
}

pg_missing() {
    log "ERROR: PostgreSQL is not reachable on $PG_HOST:$PG_PORT. $1"
    cat >&2 <<EOF
  How to fix:
    - Debian/Ubuntu: apt-get install postgresql, then start the cluster:
        pg_ctlcluster --skip-systemctl-redirect <version> main start
      (or: systemctl start postgresql)
    - Docker: docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:15
    - Elsewhere: set PG_HOST/PG_PORT to a reachable server.
  The stack and the tests connect as user '$PG_USER' without a password
  (trust auth) unless DATABASE_URL/TEST_DATABASE_URL say otherwise.
EOF
    exit 1
}

ensure_postgres() {
    if pg_ready; then
        log "PostgreSQL ready on $PG_HOST:$PG_PORT"
        return 0
    fi
    if ! is_local_host "$PG_HOST"; then
        pg_missing "It runs on another host, so this script cannot start it."
    fi
    if ! have pg_ctlcluster; then
        pg_missing "pg_ctlcluster is not installed (PostgreSQL server missing?)."
    fi
    local cluster
    if ! cluster=$(pg_local_cluster); then
        pg_missing "No local PostgreSQL cluster is configured on port $PG_PORT (see pg_lsclusters)."
    fi
    local ver name
    read -r ver name <<<"$cluster"
    log "starting PostgreSQL cluster $ver/$name ..."
    if ! pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start; then
        # "already running" is also a non-zero exit; the wait below decides.
        log "pg_ctlcluster returned an error; waiting for the server anyway"
    fi
    local deadline=$((SECONDS + SERVICE_WAIT_SECS))
    until pg_ready; do
        if ((SECONDS >= deadline)); then
            pg_missing "Started cluster $ver/$name but it did not accept connections within ${SERVICE_WAIT_SECS}s (see /var/log/postgresql/)."
        fi
        sleep 1
    done
    log "PostgreSQL ready on $PG_HOST:$PG_PORT"
}

# ------------------------------------------------------------------ RabbitMQ

rabbit_missing() {
    log "ERROR: RabbitMQ is not reachable on $AMQP_HOST:$AMQP_PORT. $1"
    cat >&2 <<EOF
  How to fix:
    - Debian/Ubuntu: apt-get install rabbitmq-server, then start it:
        rabbitmq-server -detached && rabbitmqctl await_startup
      (or: systemctl start rabbitmq-server)
    - Docker: docker run -d -p 5672:5672 -p 15672:15672 rabbitmq:3-management
    - Elsewhere: set AMQP_HOST/AMQP_PORT to a reachable broker.
  The stack and the tests use guest/guest on vhost / unless AMQP_URL/TEST_AMQP_URL say otherwise.
EOF
    exit 1
}

# Waits for the local node's application to be fully booted. Best effort:
# a failure here is only a warning when the AMQP port already accepts.
rabbit_await_startup() {
    if is_local_host "$AMQP_HOST" && have rabbitmqctl; then
        if ! timeout "$SERVICE_WAIT_SECS" rabbitmqctl -q await_startup >/dev/null 2>&1; then
            log "warning: 'rabbitmqctl await_startup' failed; relying on the TCP check"
        fi
    fi
}

ensure_rabbitmq() {
    if amqp_open "$AMQP_HOST" "$AMQP_PORT"; then
        rabbit_await_startup
        log "RabbitMQ ready on $AMQP_HOST:$AMQP_PORT"
        return 0
    fi
    if ! is_local_host "$AMQP_HOST"; then
        rabbit_missing "It runs on another host, so this script cannot start it."
    fi
    if ! have rabbitmq-server; then
        rabbit_missing "rabbitmq-server is not installed."
    fi
    # The node may be booting already; starting a second one would fail.
    if have rabbitmqctl && timeout 20 rabbitmqctl -q ping >/dev/null 2>&1; then
        log "RabbitMQ node is running but port $AMQP_PORT is not open yet; waiting ..."
    else
        log "starting RabbitMQ (rabbitmq-server -detached) ..."
        if ! rabbitmq-server -detached; then
            log "rabbitmq-server -detached returned an error; waiting for the broker anyway"
        fi
    fi
    local deadline=$((SECONDS + SERVICE_WAIT_SECS))
    until amqp_open "$AMQP_HOST" "$AMQP_PORT"; do
        if ((SECONDS >= deadline)); then
            rabbit_missing "No AMQP broker answered on port $AMQP_PORT within ${SERVICE_WAIT_SECS}s (see /var/log/rabbitmq/)."
        fi
        sleep 1
    done
    rabbit_await_startup
    log "RabbitMQ ready on $AMQP_HOST:$AMQP_PORT"
}

ensure_postgres
ensure_rabbitmq
