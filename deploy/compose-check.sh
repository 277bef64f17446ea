#!/usr/bin/env bash
# Proves that the Docker Compose stack (deploy/docker-compose.yml) runs: one
# command that builds the app image, starts the stack, waits for every health
# check, checks it end to end through the ports it publishes on 127.0.0.1,
# and takes it down again (`down -v`).
#
#   deploy/compose-check.sh [--clean] [--clean-cache] [--keep] [--source REV]
#
#   --clean        start from a clean state: remove the app image, every
#                  stand-in image and the engine's build cache first (the
#                  build then compiles every crate: the cold-build time)
#   --clean-cache  --clean, and delete the cached debootstrap tarball too
#   --keep         leave the stack running at the end (default: down -v)
#   --source REV   build the workspace source of git revision REV (a clean
#                  `git worktree` of it, with this tree's deploy/ files and
#                  .dockerignore laid over) instead of the working tree;
#                  useful while the working tree is mid-edit
#
# Prints one line per check (PASS/FAIL, name, seconds) and the time of every
# phase; exits 1 when any check fails, 2 on bad usage or a missing tool.
#
# Images. For each image the compose file and Dockerfile use, the image
# named by the same variable (POSTGRES_IMAGE, RABBITMQ_IMAGE,
# PROMETHEUS_IMAGE, GRAFANA_IMAGE, RUST_IMAGE, RUNTIME_IMAGE; defaults: the
# official images) is used when it is present locally or can be pulled;
# otherwise deploy/images/standin.sh builds a stand-in from Debian packages
# (needs root and debootstrap; cached). Grafana has no stand-in: without a
# Grafana image the stack runs without the grafana service, and the script
# says so.
#
# Clients. The app image is built by `docker build` with BuildKit
# (DOCKER_BUILDKIT=1): the first `docker` on PATH whose build has BuildKit
# (the buildx plugin, or a client older than 23 whose built-in BuildKit
# works with DOCKER_BUILDKIT=1); BUILD_DOCKER=/path/to/docker to choose. The
# compose client is `docker compose` (v2) when present, else `docker-compose`
# (1.29); COMPOSE="docker-compose" to choose. The compose client never builds
# (`up --no-build`): docker-compose 1.29's builder has no BuildKit.
#
# Environment:
#   COMPOSE_PROJECT_NAME  project name [inventory-ledger-check]
#   CENTRAL_PORT, STORE_001_PORT, STORE_002_PORT, WORKER_METRICS_PORT,
#   PROMETHEUS_PORT, GRAFANA_PORT, RABBITMQ_MANAGEMENT_PORT
#                  the published ports (on 127.0.0.1). The check's defaults
#                  stay clear of a local stack (deploy/local/up.sh, 8000-8002,
#                  9100) and a local RabbitMQ: 18000, 18001, 18002, 19100,
#                  19090, 13000, 16672; COMPOSE_CHECK_STANDARD_PORTS=1 for the
#                  compose file's own (8000, 8001, 8002, 9100, 9090, 3000, 15672)
#   COMPOSE_CHECK_PULL    1 to try `docker pull` of a missing official image
#                  before building a stand-in [1]
#   HEALTH_TIMEOUT_SECS   how long to wait for the stack to be healthy [300]
#   COMPOSE_CHECK_LOG_DIR where build and container logs go [a new /tmp dir]
#   APP_IMAGE             tag of the app image [inventory-ledger:local]
#
# Needs: a Docker engine, a compose client, curl, jq, git (for --source).
set -euo pipefail

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

CLEAN=0
CLEAN_CACHE=0
KEEP=0
SOURCE_REV=""
while (($#)); do
    case "$1" in
        --clean) CLEAN=1 ;;
        --clean-cache) CLEAN=1; CLEAN_CACHE=1 ;;
        --keep) KEEP=1 ;;
        --source) SOURCE_REV=${2:?--source needs a git revision}; shift ;;
        --source=*) SOURCE_REV=${1#--source=} ;;
        -h | --help) usage; exit 0 ;;
        *) printf 'compose-check.sh: unknown argument: %s\n\n' "$1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

DEPLOY=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$DEPLOY/.." && pwd)
COMPOSE_FILE_PATH=$DEPLOY/docker-compose.yml
cd "$ROOT"

export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-inventory-ledger-check}
export APP_IMAGE=${APP_IMAGE:-inventory-ledger:local}
PULL=${COMPOSE_CHECK_PULL:-1}
HEALTH_TIMEOUT_SECS=${HEALTH_TIMEOUT_SECS:-300}
LOG_DIR=${COMPOSE_CHECK_LOG_DIR:-$(mktemp -d /tmp/compose-check.XXXXXX)}
mkdir -p "$LOG_DIR"

# Published ports: the compose file's variables; a value already set wins.
if [[ ${COMPOSE_CHECK_STANDARD_PORTS:-0} == 1 ]]; then
    export CENTRAL_PORT=${CENTRAL_PORT:-8000} STORE_001_PORT=${STORE_001_PORT:-8001}
    export STORE_002_PORT=${STORE_002_PORT:-8002} WORKER_METRICS_PORT=${WORKER_METRICS_PORT:-9100}
    export PROMETHEUS_PORT=${PROMETHEUS_PORT:-9090} GRAFANA_PORT=${GRAFANA_PORT:-3000}
    export RABBITMQ_MANAGEMENT_PORT=${RABBITMQ_MANAGEMENT_PORT:-15672}
else
    export CENTRAL_PORT=${CENTRAL_PORT:-18000} STORE_001_PORT=${STORE_001_PORT:-18001}
    export STORE_002_PORT=${STORE_002_PORT:-18002} WORKER_METRICS_PORT=${WORKER_METRICS_PORT:-19100}
    export PROMETHEUS_PORT=${PROMETHEUS_PORT:-19090} GRAFANA_PORT=${GRAFANA_PORT:-13000}
    export RABBITMQ_MANAGEMENT_PORT=${RABBITMQ_MANAGEMENT_PORT:-16672}
fi

CENTRAL=http://127.0.0.1:$CENTRAL_PORT
STORE_001=http://127.0.0.1:$STORE_001_PORT
STORE_002=http://127.0.0.1:$STORE_002_PORT
WORKER=http://127.0.0.1:$WORKER_METRICS_PORT
PROMETHEUS=http://127.0.0.1:$PROMETHEUS_PORT
GRAFANA=http://127.0.0.1:$GRAFANA_PORT
RABBITMQ_MGMT=http://127.0.0.1:$RABBITMQ_MANAGEMENT_PORT

# The compose file's development defaults (same variables, same fallbacks).
ADMIN_ID=${DEV_ADMIN_CLIENT_ID:-dev-admin}
ADMIN_SECRET=${DEV_ADMIN_CLIENT_SECRET:-dev-only-admin-secret}
MANAGER_ID=${DEV_MANAGER_CLIENT_ID:-dev-manager}
MANAGER_SECRET=${DEV_MANAGER_CLIENT_SECRET:-dev-only-manager-secret}
RABBITMQ_USER_=${RABBITMQ_USER:-inventory}
RABBITMQ_PASSWORD_=${RABBITMQ_PASSWORD:-dev-only-amqp-password}
SKU=ELEC-LAPTOP-001          # in the built-in sample catalogue of every store

log() { printf '[check] %s\n' "$*"; }
die() { printf '[check] ERROR: %s\n' "$*" >&2; exit 2; }

for tool in docker curl jq; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done
docker info >/dev/null 2>&1 || die "no Docker engine answers (start dockerd)"

# ------------------------------------------------------------ timekeeping

now() { printf '%s' "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }

PHASES=()     # "name<TAB>seconds<TAB>note"
exec 3>&1     # the terminal, also from inside a check (whose output goes to its log)
phase() { PHASES+=("$1"$'\t'"$2"$'\t'"${3:-}"); printf '[phase] %-28s %8ss %s\n' "$1" "$2" "${3:-}" >&3; }

CHECKS=()     # "PASS|FAIL<TAB>name<TAB>seconds<TAB>detail"
FAILED=0
# check NAME FUNCTION: runs FUNCTION; its last output line is the detail.
# FUNCTION runs in this shell (it may set variables); its output goes to
# $LOG_DIR/check-FUNCTION.log.
check() {
    local name=$1 fn=$2 start status detail secs logfile=$LOG_DIR/check-$2.log
    start=$(now)
    if "$fn" >"$logfile" 2>&1; then status=PASS; else status=FAIL; FAILED=1; fi
    secs=$(since "$start")
    detail=$(tail -n 1 "$logfile")
    CHECKS+=("$status"$'\t'"$name"$'\t'"$secs"$'\t'"$detail")
    printf '%s %-52s %7ss  %s\n' "$status" "$name" "$secs" "$detail"
}

# ---------------------------------------------------------------- clients

if [[ -n ${COMPOSE:-} ]]; then
    read -r -a COMPOSE_CMD <<<"$COMPOSE"
elif docker compose version >/dev/null 2>&1; then
    COMPOSE_CMD=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
    COMPOSE_CMD=(docker-compose)
else
    die "no compose client: install the compose plugin (docker compose) or docker-compose"
fi
COMPOSE_VERSION=$("${COMPOSE_CMD[@]}" version --short 2>/dev/null || echo "?")
compose() { "${COMPOSE_CMD[@]}" -f "$COMPOSE_FILE_PATH" "$@"; }

# A docker client whose `build` has BuildKit (cache mounts).
pick_build_client() {
    local candidate real major seen=" "
    for candidate in ${BUILD_DOCKER:-} $(type -ap docker); do
        real=$(readlink -f "$candidate") || continue
        [[ $seen == *" $real "* ]] && continue
        seen+="$real "
        if "$candidate" buildx version >/dev/null 2>&1; then
            echo "$candidate"; return
        fi
        major=$("$candidate" version --format '{{.Client.Version}}' 2>/dev/null | cut -d. -f1)
        if [[ $major =~ ^[0-9]+$ ]] && ((major < 23)); then
            echo "$candidate"; return
        fi
    done
    return 1
}
BUILD_DOCKER=$(pick_build_client) ||
    die "no docker client can build with BuildKit: install the buildx plugin, or set BUILD_DOCKER"
BUILD_CLIENT_VERSION=$("$BUILD_DOCKER" version --format '{{.Client.Version}}' 2>/dev/null || echo '?')
ENGINE_VERSION=$(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')

# ------------------------------------------------------------ clean state

SERVICES_ALL=(postgres rabbitmq central-init central store-001 store-002 worker prometheus grafana)

if ((CLEAN)); then
    log "--clean: removing the project, the app image, the stand-in images and the build cache"
    compose down -v --remove-orphans >/dev/null 2>&1 || true
    docker rmi -f "$APP_IMAGE" >/dev/null 2>&1 || true
    mapfile -t standins < <(docker images --format '{{.Repository}}:{{.Tag}}' | grep '^inventory-ledger-standin/' || true)
    ((${#standins[@]} == 0)) || docker rmi -f "${standins[@]}" >/dev/null
    docker image prune -f >/dev/null
    "$BUILD_DOCKER" builder prune -af >/dev/null
    if ((CLEAN_CACHE)); then
        rm -f "${STANDIN_CACHE:-/var/cache/inventory-ledger/standin}"/*.tar
    fi
fi

# Leftovers of an interrupted run of this project.
compose down -v --remove-orphans >/dev/null 2>&1 || true

# ----------------------------------------------------------------- images

IMAGE_NOTES=()
GRAFANA_ENABLED=1

# resolve_image VAR DEFAULT STANDIN_KIND: exports VAR as the image to use.
resolve_image() {
    local var=$1 default=$2 kind=$3 image
    image=${!var:-$default}
    if docker image inspect "$image" >/dev/null 2>&1; then
        IMAGE_NOTES+=("$var=$image (present)")
    elif [[ $PULL == 1 ]] && docker pull -q "$image" >/dev/null 2>&1; then
        IMAGE_NOTES+=("$var=$image (pulled)")
    elif [[ $kind == none ]]; then
        return 1
    else
        image=$("$DEPLOY/images/standin.sh" "$kind") || die "could not build the $kind stand-in"
        IMAGE_NOTES+=("$var=$image (stand-in for $default, Debian packages)")
    fi
    export "$var=$image"
}

start=$(now)
resolve_image RUNTIME_IMAGE debian:bookworm-slim base
resolve_image RUST_IMAGE rust:1-bookworm rust
resolve_image POSTGRES_IMAGE postgres:15 postgres
resolve_image RABBITMQ_IMAGE rabbitmq:3-management rabbitmq
resolve_image PROMETHEUS_IMAGE prom/prometheus:v2.55.1 prometheus
if ! resolve_image GRAFANA_IMAGE grafana/grafana:11.3.0 none; then
    GRAFANA_ENABLED=0
    IMAGE_NOTES+=("GRAFANA_IMAGE=${GRAFANA_IMAGE:-grafana/grafana:11.3.0} not present and not pullable, no Debian package: running WITHOUT grafana")
fi
phase "images (resolve/stand-ins)" "$(since "$start")"
for note in "${IMAGE_NOTES[@]}"; do log "  $note"; done

SERVICES=()
for service in "${SERVICES_ALL[@]}"; do
    [[ $service == grafana && $GRAFANA_ENABLED == 0 ]] && continue
    SERVICES+=("$service")
done

# ---------------------------------------------------------- app image build

WORKTREE=""
cleanup() {
    local rc=$?
    [[ -z ${UP_PID:-} ]] || kill "$UP_PID" 2>/dev/null || true
    if ((KEEP == 0)) && [[ ${STACK_STARTED:-0} == 1 ]]; then
        compose down -v --remove-orphans >/dev/null 2>&1 || true
    fi
    if [[ -n $WORKTREE ]]; then
        git -C "$ROOT" worktree remove --force "$WORKTREE" >/dev/null 2>&1 || rm -rf "$WORKTREE"
        git -C "$ROOT" worktree prune >/dev/null 2>&1 || true
    fi
    exit "$rc"
}
trap cleanup EXIT

CONTEXT=$ROOT
SOURCE_NOTE="working tree $ROOT"
if [[ -n $SOURCE_REV ]]; then
    WORKTREE=$(mktemp -d /tmp/compose-check-src.XXXXXX)
    rmdir "$WORKTREE"
    git -C "$ROOT" worktree add --detach "$WORKTREE" "$SOURCE_REV" >/dev/null 2>&1 ||
        die "git worktree add $SOURCE_REV failed"
    rm -rf "$WORKTREE/deploy"
    cp -a "$DEPLOY" "$WORKTREE/deploy"
    cp -a "$ROOT/.dockerignore" "$WORKTREE/.dockerignore"
    CONTEXT=$WORKTREE
    SOURCE_NOTE="git $SOURCE_REV ($(git -C "$ROOT" rev-parse --short "$SOURCE_REV")) + this tree's deploy/"
fi

log "building $APP_IMAGE from $SOURCE_NOTE"
log "  build client: DOCKER_BUILDKIT=1 $BUILD_DOCKER build (client $BUILD_CLIENT_VERSION, engine $ENGINE_VERSION); log: $LOG_DIR/build.log"
start=$(now)
if ! DOCKER_BUILDKIT=1 "$BUILD_DOCKER" build --progress=plain \
    -f "$CONTEXT/deploy/Dockerfile" \
    --build-arg "RUST_IMAGE=$RUST_IMAGE" --build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE" \
    -t "$APP_IMAGE" "$CONTEXT" >"$LOG_DIR/build.log" 2>&1; then
    BUILD_SECS=$(since "$start")
    phase "app image build" "$BUILD_SECS" "FAILED"
    tail -n 40 "$LOG_DIR/build.log" >&2
    printf 'FAIL %-52s %7ss  see %s\n' "app image builds" "$BUILD_SECS" "$LOG_DIR/build.log"
    echo "RESULT: FAIL (the app image did not build; with the working tree mid-edit, try --source HEAD)"
    exit 1
fi
BUILD_SECS=$(since "$start")
# shellcheck disable=SC2016 # backquotes of cargo's output, not an expansion
CARGO_LINE=$(grep -Eo 'Finished `release` profile.*' "$LOG_DIR/build.log" | tail -n 1 || true)
phase "app image build" "$BUILD_SECS" "${CARGO_LINE:+(cargo: $CARGO_LINE)}"

# ------------------------------------------------------------- image facts

IMAGE_SIZE_BYTES=$(docker image inspect --format '{{.Size}}' "$APP_IMAGE")
IMAGE_SIZE_MB=$(awk -v b="$IMAGE_SIZE_BYTES" 'BEGIN { printf "%.1f", b / 1000000 }')
IMAGE_USER=$(docker image inspect --format '{{.Config.User}}' "$APP_IMAGE")
IMAGE_HEALTHCHECK=$(docker image inspect --format '{{if .Config.Healthcheck}}{{join .Config.Healthcheck.Test " "}}{{end}}' "$APP_IMAGE")
IMAGE_BINARIES=$(docker run --rm --entrypoint sh "$APP_IMAGE" -c \
    'cd /usr/local/bin && for b in central-app store-app sync-worker; do
         [ -x "$b" ] && "$b" --help >/dev/null 2>&1 && printf "%s %sMB, " "$b" $(( $(stat -c %s "$b") / 1000000 ))
     done; printf "uid %s" "$(id -u)"' 2>&1 || true)

check_image_facts() {
    echo "user '$IMAGE_USER', HEALTHCHECK '$IMAGE_HEALTHCHECK', $IMAGE_BINARIES"
    [[ -n $IMAGE_USER && $IMAGE_USER != root && $IMAGE_USER != 0 && $IMAGE_USER != 0:* ]] || return 1
    [[ $IMAGE_BINARIES == *"uid "* && $IMAGE_BINARIES != *"uid 0" ]] || return 1
    [[ -n $IMAGE_HEALTHCHECK ]] || return 1
    local b
    for b in central-app store-app sync-worker; do
        [[ $IMAGE_BINARIES == *"$b "* ]] || { echo "missing or not runnable: $b"; return 1; }
    done
    echo "non-root ($IMAGE_USER), HEALTHCHECK, 3 binaries: $IMAGE_BINARIES"
}
check_image_size() {
    echo "$IMAGE_SIZE_MB MB (goal < 100 MB)"
    ((IMAGE_SIZE_BYTES < 100000000))
}
check "app image: non-root, HEALTHCHECK, three binaries" check_image_facts
check "app image under 100 MB" check_image_size

# ------------------------------------------------------------------ start

# shellcheck disable=SC2016 # $1 is the inner bash's
port_free() { ! timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" >/dev/null 2>&1; }
BUSY=""
for port in "$CENTRAL_PORT" "$STORE_001_PORT" "$STORE_002_PORT" "$WORKER_METRICS_PORT" \
    "$PROMETHEUS_PORT" "$RABBITMQ_MANAGEMENT_PORT" $( ((GRAFANA_ENABLED)) && echo "$GRAFANA_PORT"); do
    port_free "$port" || BUSY+=" $port"
done
[[ -z $BUSY ]] || die "port(s)$BUSY on 127.0.0.1 already in use: free them or set the *_PORT variables"

log "compose: ${COMPOSE_CMD[*]} ($COMPOSE_VERSION), project $COMPOSE_PROJECT_NAME, services: ${SERVICES[*]}"
log "  ports on 127.0.0.1: central $CENTRAL_PORT, stores $STORE_001_PORT/$STORE_002_PORT, worker $WORKER_METRICS_PORT, Prometheus $PROMETHEUS_PORT, RabbitMQ management $RABBITMQ_MANAGEMENT_PORT$( ((GRAFANA_ENABLED)) && echo ", Grafana $GRAFANA_PORT")"
STACK_STARTED=1
# `up -d` runs in the background while the health checks are polled, so that
# the time each service gets ready is seen (compose itself blocks until the
# depends_on conditions hold).
start_up=$(now)
compose up -d --no-build "${SERVICES[@]}" >"$LOG_DIR/up.log" 2>&1 &
UP_PID=$!
UP_RC=""   # set once `up` has returned
up_finished() {
    [[ -n $UP_RC ]] && return 0
    kill -0 "$UP_PID" 2>/dev/null && return 1
    wait "$UP_PID" && UP_RC=0 || UP_RC=$?
    if ((UP_RC == 0)); then
        phase "compose up -d" "$(since "$start_up")" "(returned once every depends_on condition held)"
    else
        phase "compose up -d" "$(since "$start_up")" "FAILED (exit $UP_RC, see $LOG_DIR/up.log)"
        grep -E 'ERROR|rror' "$LOG_DIR/up.log" | tail -n 10 >&3 || true
    fi
}

# Every container: one-shots exited 0, the others running and healthy where
# they have a health check. Sets STATE_MSG to the state of those that are
# not (yet); records when each service first got there (READY_AT). Two docker calls a
# round (the compose client is slow to start, so it is not polled).
declare -A READY_AT=()
STATE_MSG=""
stack_state() {
    local ids service status code health pending=""
    mapfile -t ids < <(docker ps -aq --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME")
    declare -A seen=()
    if ((${#ids[@]})); then
        while read -r service status code health; do
            seen[$service]=1
            case "$service:$status:$code:$health" in
                central-init:exited:0:*) ;;
                central-init:exited:*) STATE_MSG="central-init failed (exit $code)"; return 2 ;;
                *:running:*:healthy | *:running:*:none) ;;
                *) pending+=" $service:$status/$health"; continue ;;
            esac
            [[ -n ${READY_AT[$service]:-} ]] || READY_AT[$service]=$(since "$start_up")
        done < <(docker inspect --format \
            '{{index .Config.Labels "com.docker.compose.service"}} {{.State.Status}} {{.State.ExitCode}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' \
            "${ids[@]}")
    fi
    for service in "${SERVICES[@]}"; do
        [[ -n ${seen[$service]:-} ]] || pending+=" $service:absent"
    done
    STATE_MSG="waiting for:$pending"
    [[ -z $pending ]]
}

HEALTHY_AT=""
check_stack_healthy() {
    local deadline=$((SECONDS + HEALTH_TIMEOUT_SECS)) rc service
    while true; do
        stack_state && rc=0 || rc=$?
        up_finished || true
        if ((rc == 0)) && [[ $UP_RC == 0 ]]; then
            HEALTHY_AT=$(since "$start_up")
            for service in "${SERVICES[@]}"; do
                echo "$service ready ${READY_AT[$service]:-?}s after \`up\` started"
            done
            echo "every container healthy ${HEALTHY_AT}s after \`up\` started (${#SERVICES[@]} services)"
            return 0
        fi
        if ((rc == 2 || SECONDS >= deadline)) || [[ -n $UP_RC && $UP_RC != 0 ]]; then
            echo "$STATE_MSG"
            return 1
        fi
        sleep 1
    done
}
check "stack healthy (every health check)" check_stack_healthy
phase "time to healthy" "${HEALTHY_AT:-?}" "(from \`up\` to every health check passing)"

# ----------------------------------------------------------------- checks

# http METHOD URL [curl args...]: prints the body, then the status code on
# the last line.
http() {
    local method=$1 url=$2
    shift 2
    curl -sS --max-time 5 -X "$method" -w '\n%{http_code}' "$@" "$url"
}
body() { sed '$d' <<<"$1"; }
code() { tail -n 1 <<<"$1"; }

# store_token STORE_URL: a manager token the store issues itself (its
# local API needs one).
store_token() {
    curl -fsS --max-time 5 "$1/auth/token" \
        -d grant_type=client_credentials -d "client_id=$MANAGER_ID" -d "client_secret=$MANAGER_SECRET" |
        jq -r .access_token
}

# local_auth STORE_URL: the Authorization header for that store's local API
# (tokens fetched once, in sign_in_to_stores).
local_auth() {
    if [[ $1 == "$STORE_002" ]]; then
        echo "authorization: Bearer $STORE_002_TOKEN"
    else
        echo "authorization: Bearer $STORE_001_TOKEN"
    fi
}

sign_in_to_stores() {
    STORE_001_TOKEN=$(store_token "$STORE_001") && STORE_002_TOKEN=$(store_token "$STORE_002") || return 1
    [[ -n $STORE_001_TOKEN && $STORE_001_TOKEN != null && -n $STORE_002_TOKEN && $STORE_002_TOKEN != null ]] ||
        { echo "no manager token from a store's /auth/token"; return 1; }
    local unauthenticated
    unauthenticated=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "$STORE_001/v1/local/inventory/$SKU")
    [[ $unauthenticated == 401 ]] || { echo "store-001 answered $unauthenticated without a token (want 401)"; return 1; }
    echo "manager tokens from both stores; no token -> 401"
}

store_quantity() {
    curl -fsS --max-time 5 -H "$(local_auth "$1")" "$1/v1/local/inventory/$SKU" | jq -r .quantity
}

# update STORE_URL DELTA: prints the operation id.
store_update() {
    local answer
    answer=$(http POST "$1/v1/local/inventory/$SKU/update" \
        -H "$(local_auth "$1")" -H 'content-type: application/json' \
        -d "{\"delta\": $2, \"reason\": \"compose-check\"}")
    [[ $(code "$answer") == 201 ]] || { echo "update answered $(code "$answer"): $(body "$answer")" >&2; return 1; }
    body "$answer" | jq -r .operation_id
}

sync_status() {
    curl -fsS --max-time 5 -H "$(local_auth "$1")" "$1/v1/local/sync/status/$2" | jq -r .status
}

# wait_synced STORE_URL OPERATION_ID DEADLINE_SECS START: polls the status.
wait_synced() {
    local store=$1 op=$2 limit=$3 t0=$4 status elapsed
    while true; do
        status=$(sync_status "$store" "$op" || echo "?")
        elapsed=$(since "$t0")
        if [[ $status == synced ]]; then
            echo "$elapsed"
            return 0
        fi
        if awk -v e="$elapsed" -v l="$limit" 'BEGIN { exit !(e > l) }'; then
            echo "status still '$status' after ${elapsed}s" >&2
            return 1
        fi
        sleep 0.05
    done
}

check_store_update_synced() {
    local store=$1 t0 op secs
    t0=$(now)
    op=$(store_update "$store" -1) || return 1
    echo "operation $op"
    secs=$(wait_synced "$store" "$op" 2 "$t0") || return 1
    echo "update -> synced in ${secs}s (limit 2 s)"
}
check_store_001_synced() { check_store_update_synced "$STORE_001"; }
check_store_002_synced() { check_store_update_synced "$STORE_002"; }

admin_token() {
    curl -fsS --max-time 5 "$CENTRAL/auth/token" \
        -d grant_type=client_credentials -d "client_id=$ADMIN_ID" -d "client_secret=$ADMIN_SECRET" |
        jq -r .access_token
}

check_head_office_adjust() {
    local token before answer t0 quantity elapsed
    token=$(admin_token) || { echo "no admin token from $CENTRAL/auth/token"; return 1; }
    [[ -n $token && $token != null ]] || { echo "no admin token"; return 1; }
    before=$(store_quantity "$STORE_001")
    t0=$(now)
    answer=$(http POST "$CENTRAL/v1/stores/STORE-001/inventory/$SKU/adjust" \
        -H "authorization: Bearer $token" -H 'content-type: application/json' \
        -d '{"delta": 3, "reason": "compose-check head-office count"}')
    [[ $(code "$answer") == 200 ]] || { echo "adjust answered $(code "$answer"): $(body "$answer")"; return 1; }
    echo "central: $(body "$answer")"
    while true; do
        quantity=$(store_quantity "$STORE_001" || echo "?")
        elapsed=$(since "$t0")
        if [[ $quantity == $((before + 3)) ]]; then
            echo "adjust +3 at central → store-001 quantity $before → $quantity in ${elapsed}s (limit 2 s)"
            return 0
        fi
        if awk -v e="$elapsed" 'BEGIN { exit !(e > 2) }'; then
            echo "store-001 quantity $quantity (expected $((before + 3))) after ${elapsed}s"
            return 1
        fi
        sleep 0.05
    done
}

prom_query() {
    curl -sS --max-time 10 --get "$PROMETHEUS/api/v1/query" --data-urlencode "query=$1"
}

check_prometheus_targets() {
    local deadline=$((SECONDS + 60)) targets down
    while true; do
        targets=$(curl -fsS --max-time 5 "$PROMETHEUS/api/v1/targets?state=active" || echo '{}')
        down=$(jq -r '[.data.activeTargets[]? | select(.health != "up") | "\(.labels.job)/\(.labels.instance)=\(.health) \(.lastError)"] | join("; ")' <<<"$targets")
        local count
        count=$(jq '[.data.activeTargets[]? | select(.health == "up")] | length' <<<"$targets")
        local jobs
        jobs=$(jq -r '[.data.activeTargets[]?.labels.job] | unique | join(",")' <<<"$targets")
        if [[ -z $down ]] && ((count >= 4)); then
            echo "$count targets up (jobs $jobs): $(jq -r '[.data.activeTargets[] | .labels.instance] | join(" ")' <<<"$targets")"
            return 0
        fi
        if ((SECONDS >= deadline)); then
            echo "up: $count; not up: ${down:-none}"
            return 1
        fi
        sleep 1
    done
}

# The dashboard's PromQL with Grafana's variables replaced by concrete values.
# shellcheck disable=SC2016 # the $ are Grafana's, not the shell's
dashboard_exprs() {
    jq -r '.. | objects | select(has("expr")) | .expr' "$DEPLOY"/grafana/dashboards/*.json |
        sed -e 's/\$__rate_interval/1m/g' -e 's/\${__rate_interval}/1m/g' \
            -e 's/\$__interval/15s/g' -e 's/\${__interval}/15s/g' \
            -e 's/\$__range/1h/g' -e 's/\${job}/.*/g' -e 's/\[\[job\]\]/.*/g' -e 's/\$job/.*/g'
}

check_dashboard_promql() {
    local expr answer status total=0 failed=0 series
    while IFS= read -r expr; do
        [[ -n $expr ]] || continue
        total=$((total + 1))
        answer=$(prom_query "$expr" || echo '{}')
        status=$(jq -r '.status // "no answer"' <<<"$answer")
        series=$(jq -r '.data.result | length? // 0' <<<"$answer" 2>/dev/null || echo 0)
        if [[ $status == success ]]; then
            echo "ok ($series series): $expr"
        else
            failed=$((failed + 1))
            echo "ERROR $(jq -r '.error // empty' <<<"$answer" 2>/dev/null): $expr"
        fi
    done < <(dashboard_exprs)
    # The template variable's query, label_values(up, job), in API form.
    answer=$(curl -fsS --max-time 5 "$PROMETHEUS/api/v1/label/job/values" || echo '{}')
    echo "label_values(up, job) → $(jq -r '.data // [] | join(",")' <<<"$answer")"
    ((total > 0)) || { echo "no expression found in $DEPLOY/grafana/dashboards/"; return 1; }
    echo "$((total - failed))/$total dashboard expressions evaluate without error"
    ((failed == 0))
}

# Metric names the dashboard uses (identifiers that are not functions,
# keywords, label names or durations) that Prometheus has samples of.
dashboard_metric_names() {
    dashboard_exprs |
        sed -e 's/{[^}]*}//g' -e 's/\[[^]]*\]//g' -e 's/\(by\|without\|on\|ignoring\|group_left\|group_right\) *([^)]*)//g' |
        grep -oE '[A-Za-z_:][A-Za-z0-9_:]*[[:space:]]*\(?' |
        grep -v '($' | sed 's/[[:space:]]//g' |
        grep -vxE 'by|without|on|ignoring|group_left|group_right|offset|bool|and|or|unless|le|inf|nan' |
        sort -u
}

check_dashboard_metrics() {
    local deadline=$((SECONDS + 40)) names known missing name
    mapfile -t names < <(dashboard_metric_names)
    while true; do
        known=$(curl -fsS --max-time 5 "$PROMETHEUS/api/v1/label/__name__/values" | jq -r '.data[]' || true)
        missing=""
        for name in "${names[@]}"; do
            grep -qxF "$name" <<<"$known" || missing+=" $name"
        done
        if [[ -z $missing ]]; then
            echo "all ${#names[@]} metrics the dashboard uses are scraped: ${names[*]}"
            return 0
        fi
        if ((SECONDS >= deadline)); then
            echo "never scraped:$missing"
            return 1
        fi
        sleep 2
    done
}

check_grafana() {
    local health search
    health=$(curl -fsS --max-time 5 "$GRAFANA/api/health") || { echo "no answer from $GRAFANA/api/health"; return 1; }
    echo "health: $health"
    search=$(curl -fsS --max-time 5 "$GRAFANA/api/search?type=dash-db") || { echo "dashboard search failed"; return 1; }
    jq -e 'length > 0' <<<"$search" >/dev/null || { echo "no dashboard provisioned"; return 1; }
    echo "dashboards: $(jq -r '[.[].title] | join(", ")' <<<"$search")"
}

check_published_ports() {
    local url
    for url in "$CENTRAL/health/ready" "$STORE_001/health/ready" "$STORE_002/health/ready" \
        "$WORKER/health/ready" "$CENTRAL/metrics" "$STORE_001/metrics" "$WORKER/metrics" \
        "$PROMETHEUS/-/ready"; do
        curl -fsS -o /dev/null --max-time 5 "$url" || { echo "no 2xx from $url"; return 1; }
        echo "ok $url"
    done
    echo "central, both stores, worker and Prometheus answer on 127.0.0.1"
}

check_rabbitmq_management() {
    local overview
    overview=$(curl -fsS --max-time 5 -u "$RABBITMQ_USER_:$RABBITMQ_PASSWORD_" "$RABBITMQ_MGMT/api/overview") ||
        { echo "no answer from $RABBITMQ_MGMT/api/overview"; return 1; }
    echo "RabbitMQ $(jq -r .rabbitmq_version <<<"$overview"), node $(jq -r .node <<<"$overview"), $(curl -fsS --max-time 5 -u "$RABBITMQ_USER_:$RABBITMQ_PASSWORD_" "$RABBITMQ_MGMT/api/queues" | jq length) queues"
}

wait_http_ok() {
    local url=$1 limit=$2 deadline
    deadline=$((SECONDS + limit))
    until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

check_restart_central() {
    local ops=() stores=() op store status t_start t_back secs i token central_q store_q
    t_start=$(now)
    compose stop central >/dev/null 2>&1 || { echo "compose stop central failed"; return 1; }
    echo "central stopped after $(since "$t_start")s"
    # While central is down: stores keep taking updates.
    for store in "$STORE_001" "$STORE_001" "$STORE_002"; do
        op=$(store_update "$store" -1) || return 1
        ops+=("$op")
        stores+=("$store")
    done
    sleep 1
    for i in "${!ops[@]}"; do
        status=$(sync_status "${stores[$i]}" "${ops[$i]}")
        echo "while central is down: ${ops[$i]} at ${stores[$i]}: $status"
        [[ $status != synced ]] || { echo "synced while central was down?"; return 1; }
    done
    compose start central >/dev/null 2>&1 || { echo "compose start central failed"; return 1; }
    wait_http_ok "$CENTRAL/health/ready" 60 || { echo "central not ready 60 s after start"; return 1; }
    t_back=$(now)
    echo "central back (ready) $(since "$t_start")s after the stop"
    for i in "${!ops[@]}"; do
        secs=$(wait_synced "${stores[$i]}" "${ops[$i]}" 60 "$t_back") || return 1
        echo "${ops[$i]} synced ${secs}s after central was back"
    done
    # Nothing lost: central's figure is the store's figure.
    token=$(admin_token)
    for store in "$STORE_001" "$STORE_002"; do
        local id=STORE-001
        [[ $store == "$STORE_002" ]] && id=STORE-002
        central_q=$(curl -fsS --max-time 5 -H "authorization: Bearer $token" \
            "$CENTRAL/v1/stores/$id/inventory/$SKU" | jq -r .quantity)
        store_q=$(curl -fsS --max-time 5 -H "$(local_auth "$store")" "$store/v1/local/inventory/$SKU" | jq -r '"\(.quantity) \(.confirmed_quantity) \(.pending_changes)"')
        echo "$id $SKU: central $central_q, store quantity/confirmed/pending $store_q"
        [[ $store_q == "$central_q $central_q 0" ]] || { echo "$id: central and store disagree"; return 1; }
    done
    echo "3 updates made while central was down all synced after its restart; central = store for both stores"
}

start=$(now)
if [[ -z $HEALTHY_AT ]]; then
    log "the stack is not healthy: skipping the functional checks"
else
    check "published ports answer (health, metrics)" check_published_ports
    check "stores issue their own tokens; the local API needs one" sign_in_to_stores
    check "store-001: update -> synced within 2 s" check_store_001_synced
    check "store-002: update -> synced within 2 s" check_store_002_synced
    check "head-office adjust reaches store-001 within 2 s" check_head_office_adjust
    check "RabbitMQ management API answers" check_rabbitmq_management
    check "Prometheus: every app target up" check_prometheus_targets
    check "Prometheus: dashboard PromQL evaluates" check_dashboard_promql
    check "Prometheus: every dashboard metric scraped" check_dashboard_metrics
    if ((GRAFANA_ENABLED)); then
        check "Grafana answers, dashboard provisioned" check_grafana
    fi
    check "restart central loses nothing" check_restart_central
fi
phase "functional checks" "$(since "$start")"

# ------------------------------------------------------------------- end

if ((FAILED)); then
    log "something failed: container logs in $LOG_DIR/compose-logs.txt"
    compose logs --no-color --tail=200 >"$LOG_DIR/compose-logs.txt" 2>&1 || true
    compose ps >"$LOG_DIR/compose-ps.txt" 2>&1 || true
fi

if ((KEEP)); then
    log "--keep: the stack stays up (project $COMPOSE_PROJECT_NAME); stop it with:"
    log "  ${COMPOSE_CMD[*]} -p $COMPOSE_PROJECT_NAME -f $COMPOSE_FILE_PATH down -v"
else
    start=$(now)
    if compose down -v --remove-orphans >"$LOG_DIR/down.log" 2>&1; then
        STACK_STARTED=0
        phase "compose down -v" "$(since "$start")"
    else
        phase "compose down -v" "$(since "$start")" "FAILED (see $LOG_DIR/down.log)"
        FAILED=1
    fi
fi

echo
echo "== compose-check summary ($(date -u +%FT%TZ))"
echo "engine $ENGINE_VERSION; build: DOCKER_BUILDKIT=1 $BUILD_DOCKER build (client $BUILD_CLIENT_VERSION); compose: ${COMPOSE_CMD[*]} ($COMPOSE_VERSION)"
echo "source: $SOURCE_NOTE"
for note in "${IMAGE_NOTES[@]}"; do echo "image: $note"; done
echo "app image: $APP_IMAGE $IMAGE_SIZE_MB MB, user $IMAGE_USER, $IMAGE_BINARIES"
echo "-- phases"
for line in "${PHASES[@]}"; do
    IFS=$'\t' read -r name secs note <<<"$line"
    printf '%-28s %8ss %s\n' "$name" "$secs" "$note"
done
echo "-- checks"
passed=0
for line in "${CHECKS[@]}"; do
    IFS=$'\t' read -r status name secs detail <<<"$line"
    [[ $status == PASS ]] && passed=$((passed + 1))
    printf '%s %-52s %7ss\n' "$status" "$name" "$secs"
done
echo "logs: $LOG_DIR"
if ((FAILED)); then
    echo "RESULT: FAIL ($passed of ${#CHECKS[@]} checks passed)"
    exit 1
fi
echo "RESULT: PASS (${#CHECKS[@]} checks)"
