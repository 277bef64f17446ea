#!/usr/bin/env bash
# Contract test: runs schemathesis against a running central-app and
# store-app and fails when a server does not behave as its own OpenAPI
# document (/openapi.json) says.
#
#   scripts/contract-test.sh
#
# It starts its own throwaway stack from the debug binaries (built by the
# caller, e.g. scripts/test.sh): fresh databases test_contract_<id>_central
# and test_contract_<id>_store, a private RabbitMQ vhost test-contract-<id>,
# free ports on 127.0.0.1, a signing key in a temp dir; all of it is removed
# on every exit path. Targets (each one `schemathesis run --checks all`):
#
#   store             store's /openapi.json, sync-worker token
#   central-worker    central's /openapi.json, sync-worker token
#   central-admin     central's /openapi.json, admin token
#
# Ends with "contract: N passed, M failed" (targets); exit status 1 when any check of
# any target failed (or schemathesis reported an error), 2 on a setup error.
#
# Environment (defaults in brackets):
#   CARGO_TARGET_DIR          where the debug binaries are [target]
#   CONTRACT_VENV             schemathesis virtualenv, created when missing or
#                             of another version [/var/cache/inventory-ledger/schemathesis-venv]
#   CONTRACT_MAX_EXAMPLES     generated test cases per operation (fuzzing) [50]
#   CONTRACT_WORKERS          schemathesis worker threads per target [1]; more
#                             threads trip a CPython 3.11 ast.parse race inside
#                             hypothesis ("AST constructor recursion depth mismatch")
#   CONTRACT_SEED             seed for every target [a random one, printed]
#   CONTRACT_TARGETS          comma-separated subset of the targets [all three]
#   CONTRACT_TARGET_TIMEOUT   seconds one target may run before it is killed [300]
#   CONTRACT_KEEP_TMP         1 keeps the temp dir (logs, reports) even on success;
#                             it is always kept on failure
#   READY_TIMEOUT_SECS        how long to wait for /health/ready [60]
#   PG_HOST [127.0.0.1]  PG_PORT [5432]  PG_USER [postgres]
#   AMQP_HOST [127.0.0.1]  AMQP_PORT [5672]  AMQP_USER [guest]  AMQP_PASSWORD [guest]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# One exact 4.x version: the CLI's flags and check names changed a lot
# between 3.x and 4.x and keep moving within 4.x.
SCHEMATHESIS_VERSION=4.32.5

CONTRACT_VENV=${CONTRACT_VENV:-/var/cache/inventory-ledger/schemathesis-venv}
CONTRACT_MAX_EXAMPLES=${CONTRACT_MAX_EXAMPLES:-50}
CONTRACT_WORKERS=${CONTRACT_WORKERS:-1}
CONTRACT_TARGETS=${CONTRACT_TARGETS:-store-local,store-worker,central-worker,central-admin}
CONTRACT_TARGET_TIMEOUT=${CONTRACT_TARGET_TIMEOUT:-300}
CONTRACT_KEEP_TMP=${CONTRACT_KEEP_TMP:-0}
READY_TIMEOUT_SECS=${READY_TIMEOUT_SECS:-60}
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
PG_USER=${PG_USER:-postgres}
AMQP_HOST=${AMQP_HOST:-127.0.0.1}
AMQP_PORT=${AMQP_PORT:-5672}
AMQP_USER=${AMQP_USER:-guest}
AMQP_PASSWORD=${AMQP_PASSWORD:-guest}

TARGET_DIR=${CARGO_TARGET_DIR:-target}
[[ $TARGET_DIR == /* ]] || TARGET_DIR=$ROOT/$TARGET_DIR
CENTRAL_BIN=$TARGET_DIR/debug/central-app
STORE_BIN=$TARGET_DIR/debug/store-app
HOOKS_FILE=$ROOT/scripts/contract/hooks.py
CONFIG_FILE=$ROOT/scripts/contract/schemathesis.toml
STORE_ID=STORE-001

log() { printf '[contract] %s\n' "$*" >&2; }
die() {
    printf '[contract] ERROR: %s\n' "$*" >&2
    exit 2
}
have() { command -v "$1" >/dev/null 2>&1; }

# ------------------------------------------------------------ preconditions

for bin in "$CENTRAL_BIN" "$STORE_BIN"; do
    [[ -x $bin ]] || die "$bin not found; build it first: cargo build --workspace --bins"
done
for tool in python3 curl psql dropdb rabbitmqctl timeout; do
    have "$tool" || die "$tool is required"
done
[[ -f $HOOKS_FILE && -f $CONFIG_FILE ]] || die "$HOOKS_FILE or $CONFIG_FILE is missing"
[[ $CONTRACT_MAX_EXAMPLES =~ ^[1-9][0-9]*$ ]] || die "CONTRACT_MAX_EXAMPLES must be a positive integer"
IFS=',' read -r -a TARGETS <<<"$CONTRACT_TARGETS"
for target in "${TARGETS[@]}"; do
    case "$target" in
        store-local | store-worker | central-worker | central-admin) ;;
        *) die "unknown target in CONTRACT_TARGETS: $target (store-local, store-worker, central-worker, central-admin)" ;;
    esac
done
# Every server of this test listens on the loopback address: the brief of a
# contract test is to never send traffic elsewhere.
[[ $PG_HOST == 127.0.0.1 || $PG_HOST == localhost ]] || die "PG_HOST must be local (127.0.0.1)"
[[ $AMQP_HOST == 127.0.0.1 || $AMQP_HOST == localhost ]] ||
    die "AMQP_HOST must be local (the vhost is made with rabbitmqctl)"

# ------------------------------------------------------------- schemathesis

# The venv lives outside the repository so every run (and every checkout)
# reuses it; it is rebuilt only when missing or of another version. A lock
# keeps two concurrent runs from building it at once.
ensure_schemathesis() {
    local have_version=""
    if [[ -x $CONTRACT_VENV/bin/schemathesis ]]; then
        have_version=$("$CONTRACT_VENV/bin/schemathesis" --version 2>/dev/null | awk '{print $NF}') || true
    fi
    [[ $have_version == "$SCHEMATHESIS_VERSION" ]] && return 0

    mkdir -p "$(dirname "$CONTRACT_VENV")"
    (
        if have flock; then
            exec 9>"$CONTRACT_VENV.lock"
            flock 9
        fi
        # Another run may have built it while this one waited for the lock.
        if [[ -x $CONTRACT_VENV/bin/schemathesis ]] &&
            [[ $("$CONTRACT_VENV/bin/schemathesis" --version 2>/dev/null | awk '{print $NF}') == "$SCHEMATHESIS_VERSION" ]]; then
            exit 0
        fi
        log "installing schemathesis $SCHEMATHESIS_VERSION into $CONTRACT_VENV${have_version:+ (had $have_version)}"
        rm -rf "$CONTRACT_VENV"
        python3 -m venv "$CONTRACT_VENV"
        "$CONTRACT_VENV/bin/pip" install --quiet --disable-pip-version-check \
            "schemathesis==$SCHEMATHESIS_VERSION"
    ) || die "could not install schemathesis $SCHEMATHESIS_VERSION into $CONTRACT_VENV"
}
ensure_schemathesis
SCHEMATHESIS=$CONTRACT_VENV/bin/schemathesis

# ------------------------------------------------------- names and cleanup

RUN_ID=$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')
CENTRAL_DB=test_contract_${RUN_ID}_central
STORE_DB=test_contract_${RUN_ID}_store
VHOST=test-contract-$RUN_ID
TMP_DIR=$(mktemp -d "${TMPDIR:-/tmp}/contract-test.XXXXXX")
PG_ADMIN_URL="postgres://$PG_USER@$PG_HOST:$PG_PORT/postgres"
db_url() { echo "postgres://$PG_USER@$PG_HOST:$PG_PORT/$1"; }

PIDS=()         # servers this script started, killed at exit
RUNNING_PID=""  # the schemathesis run in progress (its `timeout`), if any
TAIL_PID=""     # the `tail` showing that run's output
VHOST_MADE=0
KEEP_TMP=$CONTRACT_KEEP_TMP

cleanup() {
    local status=$?
    set +e
    local pid
    # `timeout` passes the TERM on to schemathesis
    for pid in $RUNNING_PID $TAIL_PID; do kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do
        # up to 5 s for a graceful stop, then SIGKILL
        for _ in {1..50}; do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    local db
    for db in "$CENTRAL_DB" "$STORE_DB"; do
        dropdb --maintenance-db="$PG_ADMIN_URL" --if-exists --force "$db" >/dev/null 2>&1 ||
            log "warning: could not drop database $db"
    done
    if ((VHOST_MADE)); then
        rabbitmqctl -q delete_vhost "$VHOST" >/dev/null 2>&1 || log "warning: could not delete vhost $VHOST"
    fi
    if ((status != 0)) || [[ $KEEP_TMP == 1 ]]; then
        log "logs and reports kept in $TMP_DIR"
    else
        rm -rf "$TMP_DIR"
    fi
    exit "$status"
}
trap cleanup EXIT
# A signal ends the script through the EXIT trap (so cleanup runs once).
trap 'exit 130' INT
trap 'exit 143' TERM

# Nothing here may go through a proxy: every URL is on 127.0.0.1.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY='*' no_proxy='*'

# The servers' logs, for a failed run. A panic is the first thing to look
# for (the client only sees a dropped connection), so each distinct panic
# message is listed with its count; then the last warnings and errors, then
# the last lines (per-request access lines and backtraces left out: they
# drown everything else). The full logs stay in the kept temp dir.
tail_logs() {
    local f
    for f in "$TMP_DIR"/central.log "$TMP_DIR"/store.log; do
        [[ -f $f ]] || continue
        printf -- '--- %s ---\n' "$f" >&2
        # "thread '...' panicked at FILE:LINE:COL:" is followed by the message
        # line; with a backtrace, the first frame outside std and the crates
        # registry says where in our code it happened.
        awk '
            function emit() { if (msg != "") print "panic: " msg " (at " (frame != "" ? frame : where) ")"; msg = frame = "" }
            /panicked at/ { emit(); where = $0; sub(/.*panicked at /, "", where); getline msg; want = 1; next }
            want && /^ +at / && !/\/rustc\/|\/\.cargo\/registry\// { frame = $2; want = 0 }
            END { emit() }
        ' "$f" | sort | uniq -c | sort -rn | head -n 10 >&2
        printf -- '  last warnings/errors:\n' >&2
        grep -E '"level":"(WARN|ERROR)"' "$f" | tail -n 10 >&2 || true
        printf -- '  last lines:\n' >&2
        grep '^{' "$f" | grep -v '"message":"response"' | tail -n 10 >&2 || true
    done
}

# A one-shot CLI step; its output goes to setup.log, shown when it fails.
SETUP_LOG=$TMP_DIR/setup.log
step() {
    local what=$1
    shift
    log "$what"
    printf '\n=== %s\n' "$what" >>"$SETUP_LOG"
    if ! "$@" </dev/null >>"$SETUP_LOG" 2>&1; then
        printf '[contract] ERROR: step failed: %s\n--- last lines of %s ---\n' "$what" "$SETUP_LOG" >&2
        tail -n 30 "$SETUP_LOG" >&2
        exit 2
    fi
}

# A port that is free on 127.0.0.1 right now (the kernel picks it).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_bg NAME CMD...: a server in the background, logging to NAME.log.
start_bg() {
    local name=$1
    shift
    "$@" </dev/null >"$TMP_DIR/$name.log" 2>&1 &
    PIDS+=("$!")
    log "$name started (pid $!)"
}

# wait_ready NAME URL: polls until 2xx; fails early when the process exits.
wait_ready() {
    local name=$1 url=$2 pid=${PIDS[-1]}
    local deadline=$((SECONDS + READY_TIMEOUT_SECS))
    until curl -fsS --noproxy '*' -o /dev/null --max-time 2 "$url" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null; then
            log "ERROR: $name exited before becoming ready"
            tail_logs
            exit 2
        fi
        if ((SECONDS >= deadline)); then
            log "ERROR: $name not ready at $url after ${READY_TIMEOUT_SECS}s"
            tail_logs
            exit 2
        fi
        sleep 0.3
    done
    log "$name ready ($url)"
}

# fetch_token CLIENT_ID SECRET [BASE_URL]: OAuth2 client credentials at
# central (or at the store whose URL is given).
fetch_token() {
    curl -fsS --noproxy '*' --max-time 10 "${3:-$CENTRAL_URL}/auth/token" \
        -d grant_type=client_credentials --data-urlencode "client_id=$1" --data-urlencode "client_secret=$2" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}

# --------------------------------------------------------------- the stack

log "run $RUN_ID: databases $CENTRAL_DB, $STORE_DB; vhost $VHOST; temp dir $TMP_DIR"

# A private vhost, so the apps' exchanges and queues touch nobody else's.
rabbitmqctl -q add_vhost "$VHOST" >/dev/null || die "rabbitmqctl add_vhost $VHOST failed"
VHOST_MADE=1
rabbitmqctl -q set_permissions -p "$VHOST" "$AMQP_USER" '.*' '.*' '.*' >/dev/null ||
    die "rabbitmqctl set_permissions on $VHOST failed"
AMQP_URL="amqp://$AMQP_USER:$AMQP_PASSWORD@$AMQP_HOST:$AMQP_PORT/$VHOST"

CENTRAL_PORT=$(free_port)
STORE_PORT=$(free_port)
while [[ $STORE_PORT == "$CENTRAL_PORT" ]]; do STORE_PORT=$(free_port); done
CENTRAL_URL=http://127.0.0.1:$CENTRAL_PORT
STORE_URL=http://127.0.0.1:$STORE_PORT

# Client secrets: random, for this run only.
WORKER_CLIENT_ID=contract-worker
ADMIN_CLIENT_ID=contract-admin
WORKER_SECRET=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
ADMIN_SECRET=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
MANAGER_CLIENT_ID=contract-manager
MANAGER_SECRET=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')

# RUST_BACKTRACE: a panic's log then names the line of our code (tail_logs).
common_env=(LOG_FORMAT=json RUST_BACKTRACE=1 "AMQP_URL=$AMQP_URL")
central_env=(env "${common_env[@]}"
    "DATABASE_URL=$(db_url "$CENTRAL_DB")"
    "BIND_ADDR=127.0.0.1:$CENTRAL_PORT"
    "JWT_PRIVATE_KEY_FILE=$TMP_DIR/central-key.pem"
    # longer than any run, so no token expires mid-target
    TOKEN_TTL=1h)
store_env=(env "${common_env[@]}"
    "STORE_ID=$STORE_ID"
    "STORE_JWT_PRIVATE_KEY_FILE=$TMP_DIR/store-key.pem"
    TOKEN_TTL=1h
    "DATABASE_URL=$(db_url "$STORE_DB")"
    "BIND_ADDR=127.0.0.1:$STORE_PORT"
    "CENTRAL_URL=$CENTRAL_URL")

step "central: keys generate" \
    env -u JWT_PRIVATE_KEY_FILE "${common_env[@]}" "$CENTRAL_BIN" keys generate --out "$TMP_DIR/central-key.pem"
step "central: migrate ($CENTRAL_DB)" "${central_env[@]}" "$CENTRAL_BIN" migrate
step "central: populate --stores $STORE_ID" "${central_env[@]}" "$CENTRAL_BIN" populate --stores "$STORE_ID"
step "central: client $WORKER_CLIENT_ID (sync-worker)" "${central_env[@]}" "$CENTRAL_BIN" clients create \
    --id "$WORKER_CLIENT_ID" --role sync-worker --secret "$WORKER_SECRET"
step "central: client $ADMIN_CLIENT_ID (admin)" "${central_env[@]}" "$CENTRAL_BIN" clients create \
    --id "$ADMIN_CLIENT_ID" --role admin --secret "$ADMIN_SECRET"
start_bg central "${central_env[@]}" "$CENTRAL_BIN" serve
wait_ready central "$CENTRAL_URL/health/ready"

step "store: migrate ($STORE_DB)" "${store_env[@]}" "$STORE_BIN" migrate
step "store: populate (sample catalogue)" "${store_env[@]}" "$STORE_BIN" populate
step "store: keys generate" env "${common_env[@]}" "$STORE_BIN" keys generate --out "$TMP_DIR/store-key.pem"
step "store: client $MANAGER_CLIENT_ID (manager)" "${store_env[@]}" "$STORE_BIN" clients create \
    --id "$MANAGER_CLIENT_ID" --role manager --secret "$MANAGER_SECRET"
start_bg store "${store_env[@]}" "$STORE_BIN" serve
wait_ready store "$STORE_URL/health/ready"

WORKER_TOKEN=$(fetch_token "$WORKER_CLIENT_ID" "$WORKER_SECRET") || die "no token for $WORKER_CLIENT_ID"
ADMIN_TOKEN=$(fetch_token "$ADMIN_CLIENT_ID" "$ADMIN_SECRET") || die "no token for $ADMIN_CLIENT_ID"
MANAGER_TOKEN=$(fetch_token "$MANAGER_CLIENT_ID" "$MANAGER_SECRET" "$STORE_URL") || die "no token for $MANAGER_CLIENT_ID"
log "tokens fetched for $WORKER_CLIENT_ID, $ADMIN_CLIENT_ID (central) and $MANAGER_CLIENT_ID (store)"

# ------------------------------------------------------------ schemathesis

# run_target NAME BASE_URL TOKEN [PATH_REGEX]: one schemathesis run (of the
# operations whose path matches PATH_REGEX, when given); output to NAME.out
# (and the terminal), JUnit and NDJSON reports to reports/NAME/.
run_target() {
    local name=$1 base=$2 token=$3 paths=${4:-.}
    local seed=${CONTRACT_SEED:-$(((RANDOM << 15) | RANDOM))}
    local out=$TMP_DIR/$name.out
    local cmd=(
        timeout --kill-after=10 "$CONTRACT_TARGET_TIMEOUT"
        # the token reaches schemathesis through the config file (not argv);
        # no __pycache__ for the hooks file inside the repository
        env "SCHEMATHESIS_HOOKS=$HOOKS_FILE" CONTRACT_ALLOWED_HOSTS=127.0.0.1 "CONTRACT_TOKEN=$token"
        PYTHONDONTWRITEBYTECODE=1
        "$SCHEMATHESIS" --config-file "$CONFIG_FILE" --no-color run "$base/openapi.json"
        # every request to this base URL, whatever the document's `servers` say
        --url "$base"
        --include-path-regex "$paths"
        --checks all
        # replaced by hooks.py's positive_data_accepted, which lets a
        # documented business refusal (422 insufficient_stock) through
        --exclude-checks positive_data_acceptance
        # keep testing an operation after its first failure, to find every
        # distinct failure in one run (schemathesis deduplicates them)
        --continue-on-failure
        --max-examples "$CONTRACT_MAX_EXAMPLES"
        --seed "$seed"
        --workers "$CONTRACT_WORKERS"
        # never follow a redirect (a Location could point anywhere)
        --max-redirects 0
        --request-timeout 10
        # no .hypothesis example database left in the working directory
        --generation-database none
        # full response bodies in the failure report
        --output-truncate false
        --report "junit,ndjson" --report-dir "$TMP_DIR/reports/$name"
    )
    printf '\n========== target %s: %s/openapi.json (seed %s, %s examples/operation) ==========\n' \
        "$name" "$base" "$seed" "$CONTRACT_MAX_EXAMPLES"
    local rc=0
    # Run from the temp dir: schemathesis writes nothing into the repository.
    # In the background, with `wait`, so a signal reaches the traps (and the
    # cleanup) at once instead of after the run; `tail` shows the output live.
    : >"$out" # exists before tail opens it
    (cd "$TMP_DIR" && exec "${cmd[@]}") >>"$out" 2>&1 &
    RUNNING_PID=$!
    tail -n +1 -f --pid="$RUNNING_PID" "$out" &
    TAIL_PID=$!
    if wait "$RUNNING_PID"; then rc=0; else rc=$?; fi
    RUNNING_PID=""
    wait "$TAIL_PID" || true
    TAIL_PID=""
    if ((rc == 124 || rc == 137)); then
        printf '[contract] target %s killed after %ss (CONTRACT_TARGET_TIMEOUT)\n' "$name" "$CONTRACT_TARGET_TIMEOUT" | tee -a "$out"
    fi
    RESULTS+=("$name|$rc|$seed")
}

RESULTS=()
for target in "${TARGETS[@]}"; do
    case "$target" in
        # The store's two APIs take two issuers' tokens: its own (local
        # API, token endpoint) and central's (the worker API).
        store-local) run_target store-local "$STORE_URL" "$MANAGER_TOKEN" '^/(v1/local|auth|\.well-known|health)' ;;
        store-worker) run_target store-worker "$STORE_URL" "$WORKER_TOKEN" '^/v1/sync/' ;;
        central-worker) run_target central-worker "$CENTRAL_URL" "$WORKER_TOKEN" ;;
        central-admin) run_target central-admin "$CENTRAL_URL" "$ADMIN_TOKEN" ;;
    esac
done

# ---------------------------------------------------------------- summary

# summarize_failures OUT: one line per distinct (operation, check, status)
# in schemathesis' FAILURES section, and one per (operation, error kind) in
# its ERRORS section, with how many test cases hit it. schemathesis prints
# every failing test case as "- <check>" lines followed by "[<status>] ...".
summarize_failures() {
    awk '
        function flush(status, i) {
            for (i = 1; i <= n; i++) print "failure | " op " | " checks[i] " | " status
            n = 0
        }
        /^=+ ERRORS =+$/   { flush("?"); section = "errors"; next }
        /^=+ FAILURES =+$/ { flush("?"); section = "failures"; next }
        /^=+ [A-Z]+ =+$/   { flush("?"); section = ""; next }
        section == "" { next }
        /^_+ .+ _+$/ {
            flush("?")
            op = $0; sub(/^_+ /, "", op); sub(/ _+$/, "", op)
            next
        }
        /^[0-9]+\. Test Case ID/ { flush("?"); next }
        section == "errors" && /^[A-Z][A-Za-z ]* Error$/ { print "error   | " op " | " $0 " | -"; next }
        section == "failures" && /^- / { checks[++n] = substr($0, 3); next }
        section == "failures" && /^\[[0-9][0-9][0-9]\]/ { flush(substr($0, 2, 3)); next }
        END { flush("?") }
    ' "$1" | sort | uniq -c |
        awk -F ' [|] ' '{
            split($1, a, " ")
            line = sprintf("%-7s %-50s %s", a[2], $2, $3)
            if ($4 != "-") line = sprintf("%-98s -> %s", line, $4)
            if (a[1] > 1) line = line "  (" a[1] " cases)"
            print "        " line
        }'
}

passed=0
failed=0
printf '\n========== contract test summary ==========\n'
for result in "${RESULTS[@]}"; do
    IFS='|' read -r name rc seed <<<"$result"
    if ((rc == 0)); then
        passed=$((passed + 1))
        printf '  PASS  %-15s seed %s\n' "$name" "$seed"
    else
        failed=$((failed + 1))
        printf '  FAIL  %-15s seed %s, schemathesis exit %s\n' "$name" "$seed" "$rc"
    fi
    # schemathesis' own closing line, e.g. "=== 12 failures, 1 error in 9.80s ==="
    grep -E '^=+ .* in [0-9.]+s =+$' "$TMP_DIR/$name.out" | tail -n 1 | sed 's/^/        /' || true
    ((rc == 0)) || summarize_failures "$TMP_DIR/$name.out"
done

if ((failed > 0)); then
    tail_logs
    printf '\nEach failure above is shown in full (request as curl, response body) in the\n'
    printf 'target'"'"'s section of the output. Reproduce one target with\n'
    printf '  CONTRACT_TARGETS=<name> CONTRACT_SEED=<seed> %s\n\n' "$0"
fi
printf 'contract: %d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
