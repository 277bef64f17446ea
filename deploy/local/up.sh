#!/usr/bin/env bash
# Runs the whole stack on this machine without Docker: central-app, one
# store-app per local store, and the sync-worker, against the local
# PostgreSQL and RabbitMQ.
#
#   deploy/local/up.sh [--fresh]
#
#   --fresh     drop the stack's databases first (the broker is left alone)
#
# Environment:
#   BIN_DIR     directory of the release binaries [$CARGO_TARGET_DIR/release or target/release]
#   SKIP_BUILD  1 to skip `cargo build --release`
#   READY_TIMEOUT_SECS  how long to wait for each process to be ready [60]
#   Every variable of deploy/local/dev-defaults.env can be overridden from the
#   environment, e.g. CENTRAL_PORT=9000 deploy/local/up.sh
#
# Re-running restarts every process and keeps the data. Logs (JSON), pid
# files, the dev signing key and stack.env live in deploy/local/run/
# (git-ignored). Stop with deploy/local/down.sh.
set -euo pipefail

usage() { sed -n '2,20s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

FRESH=0
for arg in "$@"; do
    case "$arg" in
        --fresh) FRESH=1 ;;
        -h | --help) usage; exit 0 ;;
        *) printf 'up.sh: unknown argument: %s\n\n' "$arg" >&2; usage >&2; exit 2 ;;
    esac
done

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
RUN_DIR=$SCRIPT_DIR/run
cd "$ROOT"

log() { printf '[up] %s\n' "$*"; }
die() { printf '[up] ERROR: %s\n' "$*" >&2; exit 1; }

# --------------------------------------------------------------- defaults

# Load dev-defaults.env; a variable already set in the environment wins.
load_defaults() {
    local line key value
    while IFS= read -r line || [[ -n $line ]]; do
        [[ $line =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
        key=${BASH_REMATCH[1]}
        value=${BASH_REMATCH[2]}
        if [[ -z ${!key+x} ]]; then
            export "$key=$value"
        fi
    done <"$1"
}
load_defaults "$SCRIPT_DIR/dev-defaults.env"

LOCAL_BIND_HOST=${LOCAL_BIND_HOST:-127.0.0.1}
READY_TIMEOUT_SECS=${READY_TIMEOUT_SECS:-60}
BIN_DIR=${BIN_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}/release}
[[ $BIN_DIR == /* ]] || BIN_DIR=$ROOT/$BIN_DIR
JWT_KEY_FILE=$DEV_JWT_KEY_FILE
[[ $JWT_KEY_FILE == /* ]] || JWT_KEY_FILE=$ROOT/$JWT_KEY_FILE
STORE_KEY_DIR=$DEV_STORE_KEY_DIR
[[ $STORE_KEY_DIR == /* ]] || STORE_KEY_DIR=$ROOT/$STORE_KEY_DIR

IFS=',' read -r -a STORE_IDS <<<"$LOCAL_STORE_IDS"
((${#STORE_IDS[@]} > 0)) || die "LOCAL_STORE_IDS is empty"

# STORE-001 -> STORE_001 (prefix of the per-store variables), store-001 (file names)
store_var() { local v=${1//-/_}; echo "${v^^}"; }
store_slug() { echo "${1,,}"; }
store_value() {
    local var
    var="$(store_var "$1")_$2"
    [[ -n ${!var:-} ]] || die "$var is not set (needed for store $1; see deploy/local/dev-defaults.env)"
    echo "${!var}"
}

db_url() { echo "postgres://$PG_USER@$PG_HOST:$PG_PORT/$1"; }

CENTRAL_URL="http://127.0.0.1:$CENTRAL_PORT"
CENTRAL_DATABASE_URL=$(db_url "$CENTRAL_DB")
WORKER_URL="http://127.0.0.1:$WORKER_METRICS_PORT"

for id in "${STORE_IDS[@]}"; do
    store_value "$id" PORT >/dev/null
    store_value "$id" DB >/dev/null
done

STORES_SPEC=""
for id in "${STORE_IDS[@]}"; do
    STORES_SPEC+="${STORES_SPEC:+,}$id=http://127.0.0.1:$(store_value "$id" PORT)"
done

# ---------------------------------------------------------------- helpers

# Runs a one-shot CLI step; its output goes to run/setup.log and is shown
# only when it fails.
SETUP_LOG=$RUN_DIR/setup.log
step() {
    local what=$1
    shift
    log "$what"
    printf '\n=== %s: %s\n' "$(date -u +%FT%TZ)" "$what" >>"$SETUP_LOG"
    if ! "$@" </dev/null >>"$SETUP_LOG" 2>&1; then
        printf '[up] ERROR: step failed: %s\n--- last lines of %s ---\n' "$what" "$SETUP_LOG" >&2
        tail -n 30 "$SETUP_LOG" >&2
        exit 1
    fi
}

# Starts a long-running process detached from this shell (own session, so
# Ctrl-C or closing the terminal does not reach it), logs to run/NAME.log,
# pid to run/NAME.pid. The previous log is kept as NAME.log.prev.
start_bg() {
    local name=$1
    shift
    local logfile=$RUN_DIR/$name.log
    if [[ -f $logfile ]]; then mv -f "$logfile" "$logfile.prev"; fi
    if command -v setsid >/dev/null 2>&1; then
        setsid "$@" </dev/null >"$logfile" 2>&1 &
    else
        nohup "$@" </dev/null >"$logfile" 2>&1 &
    fi
    echo "$!" >"$RUN_DIR/$name.pid"
    log "$name started (pid $!, log ${logfile#"$ROOT"/})"
}

# Polls URL until it answers 2xx; fails early when the process exits.
wait_ready() {
    local name=$1 url=$2
    local pid logfile=$RUN_DIR/$name.log
    pid=$(<"$RUN_DIR/$name.pid")
    local deadline=$((SECONDS + READY_TIMEOUT_SECS))
    while ! curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null; then
            printf '[up] ERROR: %s exited before becoming ready\n' "$name" >&2
            fail_with_log "$logfile"
        fi
        if ((SECONDS >= deadline)); then
            printf '[up] ERROR: %s not ready at %s after %ss\n' "$name" "$url" "$READY_TIMEOUT_SECS" >&2
            fail_with_log "$logfile"
        fi
        sleep 0.5
    done
    log "$name ready ($url)"
}

fail_with_log() {
    printf -- '--- last lines of %s ---\n' "$1" >&2
    tail -n 40 "$1" >&2 || true
    printf -- '---\n[up] processes started so far keep running; stop them with deploy/local/down.sh\n' >&2
    exit 1
}

tcp_open() {
    # shellcheck disable=SC2016 # expanded by the inner bash
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" >/dev/null 2>&1
}

# ------------------------------------------------------------ preparation

# Infrastructure: the local PostgreSQL/RabbitMQ (started when installed).
# (PG_HOST/PG_PORT/PG_USER/AMQP_HOST/AMQP_PORT are exported by load_defaults.)
"$ROOT/scripts/ensure-services.sh"

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    log "cargo build --release --workspace --bins"
    cargo build --release --workspace --bins
fi
CENTRAL_BIN=$BIN_DIR/central-app
STORE_BIN=$BIN_DIR/store-app
WORKER_BIN=$BIN_DIR/sync-worker
for bin in "$CENTRAL_BIN" "$STORE_BIN" "$WORKER_BIN"; do
    [[ -x $bin ]] || die "$bin not found (build it, or point BIN_DIR at the binaries)"
done

mkdir -p "$RUN_DIR"
: >"$SETUP_LOG"

# A re-run restarts everything: stop what the previous up.sh started.
"$SCRIPT_DIR/down.sh"
rm -f "$RUN_DIR/stack.env"

ports=("$CENTRAL_PORT" "$WORKER_METRICS_PORT")
for id in "${STORE_IDS[@]}"; do ports+=("$(store_value "$id" PORT)"); done
for port in "${ports[@]}"; do
    if tcp_open 127.0.0.1 "$port"; then
        die "port $port is in use by a process up.sh did not start; stop it or override its *_PORT variable"
    fi
done

if ((FRESH)); then
    dbs=("$CENTRAL_DB")
    for id in "${STORE_IDS[@]}"; do dbs+=("$(store_value "$id" DB)"); done
    for db in "${dbs[@]}"; do
        log "--fresh: dropping database $db"
        dropdb --if-exists --force -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$db" 2>&1 |
            { grep -v 'does not exist, skipping' || true; } >&2
    done
fi

# Common to every process: JSON logs in the files, whatever the caller's shell says.
common_env=(LOG_FORMAT=json "AMQP_URL=$AMQP_URL")

# ---------------------------------------------------------------- central

central_env=(env "${common_env[@]}"
    "DATABASE_URL=$CENTRAL_DATABASE_URL"
    "BIND_ADDR=$LOCAL_BIND_HOST:$CENTRAL_PORT"
    "JWT_PRIVATE_KEY_FILE=$JWT_KEY_FILE")

if [[ ! -s $JWT_KEY_FILE ]]; then
    mkdir -p "$(dirname "$JWT_KEY_FILE")"
    step "generating the development signing key ${JWT_KEY_FILE#"$ROOT"/}" \
        env -u JWT_PRIVATE_KEY_FILE "${common_env[@]}" "$CENTRAL_BIN" keys generate --out "$JWT_KEY_FILE"
    chmod 600 "$JWT_KEY_FILE"
fi

step "central: migrate ($CENTRAL_DB)" "${central_env[@]}" "$CENTRAL_BIN" migrate
step "central: populate --stores $LOCAL_STORE_IDS" \
    "${central_env[@]}" "$CENTRAL_BIN" populate --stores "$LOCAL_STORE_IDS"
# Development clients: created when missing; an existing one (disabled or
# not) is left as it is (`--fresh` starts over). Secrets go through the
# environment, not the command line.
step "central: client $DEV_ADMIN_CLIENT_ID (admin)" \
    "${central_env[@]}" "CLIENT_SECRET=$DEV_ADMIN_CLIENT_SECRET" "$CENTRAL_BIN" clients create \
    --id "$DEV_ADMIN_CLIENT_ID" --role admin --if-missing
step "central: client $DEV_WORKER_CLIENT_ID (sync-worker)" \
    "${central_env[@]}" "CLIENT_SECRET=$DEV_WORKER_CLIENT_SECRET" "$CENTRAL_BIN" clients create \
    --id "$DEV_WORKER_CLIENT_ID" --role sync-worker --if-missing

start_bg central "${central_env[@]}" "$CENTRAL_BIN" serve
wait_ready central "$CENTRAL_URL/health/ready"

# ----------------------------------------------------------------- stores

for id in "${STORE_IDS[@]}"; do
    slug=$(store_slug "$id")
    db=$(store_value "$id" DB)
    port=$(store_value "$id" PORT)
    store_env=(env "${common_env[@]}"
        "STORE_ID=$id"
        "STORE_JWT_PRIVATE_KEY_FILE=$STORE_KEY_DIR/$id-key.pem"
        "DATABASE_URL=$(db_url "$db")"
        "BIND_ADDR=$LOCAL_BIND_HOST:$port"
        "CENTRAL_URL=$CENTRAL_URL")
    if [[ ! -s $STORE_KEY_DIR/$id-key.pem ]]; then
        mkdir -p "$STORE_KEY_DIR"
        step "$slug: generating its development signing key" \
            env "${common_env[@]}" "$STORE_BIN" keys generate --out "$STORE_KEY_DIR/$id-key.pem"
    fi
    step "$slug: migrate ($db)" "${store_env[@]}" "$STORE_BIN" migrate
    step "$slug: populate" "${store_env[@]}" "$STORE_BIN" populate
    step "$slug: client $DEV_POS_CLIENT_ID (pos)" \
        "${store_env[@]}" "CLIENT_SECRET=$DEV_POS_CLIENT_SECRET" "$STORE_BIN" clients create \
        --id "$DEV_POS_CLIENT_ID" --role pos --if-missing
    step "$slug: client $DEV_MANAGER_CLIENT_ID (manager)" \
        "${store_env[@]}" "CLIENT_SECRET=$DEV_MANAGER_CLIENT_SECRET" "$STORE_BIN" clients create \
        --id "$DEV_MANAGER_CLIENT_ID" --role manager --if-missing
    start_bg "$slug" "${store_env[@]}" "$STORE_BIN" serve
    wait_ready "$slug" "http://127.0.0.1:$port/health/ready"
done

# ----------------------------------------------------------------- worker

worker_env=(env "${common_env[@]}"
    "CENTRAL_URL=$CENTRAL_URL"
    "CLIENT_ID=$DEV_WORKER_CLIENT_ID"
    "CLIENT_SECRET=$DEV_WORKER_CLIENT_SECRET"
    "STORES=$STORES_SPEC"
    "SYNC_INTERVAL=$DEV_SYNC_INTERVAL"
    "METRICS_ADDR=$LOCAL_BIND_HOST:$WORKER_METRICS_PORT")
start_bg worker "${worker_env[@]}" "$WORKER_BIN" serve
wait_ready worker "$WORKER_URL/health/ready"

# ---------------------------------------------------------------- summary

STACK_ENV=$RUN_DIR/stack.env
{
    echo "# Written by deploy/local/up.sh on $(date -u +%FT%TZ). DEVELOPMENT-ONLY credentials."
    echo "CENTRAL_URL=$CENTRAL_URL"
    for id in "${STORE_IDS[@]}"; do
        echo "$(store_var "$id")_URL=http://127.0.0.1:$(store_value "$id" PORT)"
    done
    echo "ADMIN_CLIENT_ID=$DEV_ADMIN_CLIENT_ID"
    echo "ADMIN_CLIENT_SECRET=$DEV_ADMIN_CLIENT_SECRET"
    echo "WORKER_CLIENT_ID=$DEV_WORKER_CLIENT_ID"
    echo "WORKER_CLIENT_SECRET=$DEV_WORKER_CLIENT_SECRET"
    echo "DEV_POS_CLIENT_ID=$DEV_POS_CLIENT_ID"
    echo "DEV_POS_CLIENT_SECRET=$DEV_POS_CLIENT_SECRET"
    echo "DEV_MANAGER_CLIENT_ID=$DEV_MANAGER_CLIENT_ID"
    echo "DEV_MANAGER_CLIENT_SECRET=$DEV_MANAGER_CLIENT_SECRET"
    echo "CENTRAL_DATABASE_URL=$CENTRAL_DATABASE_URL"
    for id in "${STORE_IDS[@]}"; do
        echo "$(store_var "$id")_DATABASE_URL=$(db_url "$(store_value "$id" DB)")"
    done
    echo "WORKER_METRICS_URL=$WORKER_URL/metrics"
    echo "AMQP_URL=$AMQP_URL"
} >"$STACK_ENV.tmp"
mv -f "$STACK_ENV.tmp" "$STACK_ENV"

echo
echo "Local stack is up."
echo
printf '  %-11s %-24s %s\n' "central" "$CENTRAL_URL" "Swagger UI $CENTRAL_URL/docs  metrics $CENTRAL_URL/metrics"
for id in "${STORE_IDS[@]}"; do
    url="http://127.0.0.1:$(store_value "$id" PORT)"
    printf '  %-11s %-24s %s\n' "$(store_slug "$id")" "$url" "Swagger UI $url/docs  metrics $url/metrics"
done
printf '  %-11s %-24s %s\n' "worker" "$WORKER_URL" "metrics $WORKER_URL/metrics  ready $WORKER_URL/health/ready"
echo
echo "  Development-only credentials (OAuth2 client credentials at $CENTRAL_URL/auth/token):"
echo "    admin   $DEV_ADMIN_CLIENT_ID / $DEV_ADMIN_CLIENT_SECRET"
echo "    worker  $DEV_WORKER_CLIENT_ID / $DEV_WORKER_CLIENT_SECRET"
echo "  and at every store's /auth/token (its own clients):"
echo "    pos     $DEV_POS_CLIENT_ID / $DEV_POS_CLIENT_SECRET"
echo "    manager $DEV_MANAGER_CLIENT_ID / $DEV_MANAGER_CLIENT_SECRET"
echo "  e.g. curl -s $CENTRAL_URL/auth/token -d grant_type=client_credentials \\"
echo "         -d client_id=$DEV_ADMIN_CLIENT_ID -d client_secret=$DEV_ADMIN_CLIENT_SECRET"
echo
echo "  Databases: $CENTRAL_DATABASE_URL (central)"
for id in "${STORE_IDS[@]}"; do
    echo "             $(db_url "$(store_value "$id" DB)") ($id)"
done
echo "  Broker:    $AMQP_URL"
echo
echo "  Everything above as KEY=VALUE: ${STACK_ENV#"$ROOT"/}"
echo "  Logs (JSON): ${RUN_DIR#"$ROOT"/}/*.log   Stop: deploy/local/down.sh"
