#!/usr/bin/env bash
# The single test command of the workspace:
#
#   scripts/test.sh [extra `cargo test` arguments]
#   e.g. scripts/test.sh -p store-app -- --nocapture
#
# 1. makes sure PostgreSQL and RabbitMQ run (scripts/ensure-services.sh),
#    and that Debian's chromium is installed (apt-get, as root) for
#    central-app's status-page test, which fails without it; checks that
#    deploy/docker-compose.yml parses (`docker-compose config -q`, Debian's
#    docker-compose installed when missing; no Docker engine needed),
# 2. removes what earlier, interrupted runs left behind: databases named
#    test_* and RabbitMQ vhosts named test-* that nothing is connected to,
# 3. builds the binaries (debug; the end-to-end tests spawn them),
# 4. runs `cargo test --workspace "$@"`,
# 5. without arguments, runs scripts/contract-test.sh: schemathesis checks
#    both apps against their own OpenAPI documents,
# 6. without arguments, runs a 90-second chaos soak (target/debug/soak) with
#    9 faults (one of each kind) and a fresh seed each run, printed first, so CI keeps
#    exploring; SOAK_SEED replays one. Its report: target/soak-report.json
#    (under CARGO_TARGET_DIR when set).
# It exits non-zero when any step fails.
#
# Environment (the tests read these two; both can be overridden):
#   TEST_DATABASE_URL [postgres://postgres@127.0.0.1:5432/postgres]
#   TEST_AMQP_URL     [amqp://guest:guest@127.0.0.1:5672/%2f]
#   PG_HOST/PG_PORT/AMQP_HOST/AMQP_PORT default to the hosts of those URLs.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

export TEST_DATABASE_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export TEST_AMQP_URL=${TEST_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}

log() { printf '[test] %s\n' "$*" >&2; }

# "scheme://user:pw@host:port/path?query" -> "host port" (default port when absent)
url_host_port() {
    local rest=${1#*://}
    rest=${rest%%/*}
    rest=${rest%%\?*}
    rest=${rest##*@}
    local host=${rest%%:*} port=$2
    [[ $rest == *:* ]] && port=${rest##*:}
    echo "${host:-127.0.0.1} ${port:-$2}"
}
read -r pg_host pg_port <<<"$(url_host_port "$TEST_DATABASE_URL" 5432)"
read -r amqp_host amqp_port <<<"$(url_host_port "$TEST_AMQP_URL" 5672)"
export PG_HOST=${PG_HOST:-$pg_host} PG_PORT=${PG_PORT:-$pg_port}
export AMQP_HOST=${AMQP_HOST:-$amqp_host} AMQP_PORT=${AMQP_PORT:-$amqp_port}

"$ROOT/scripts/ensure-services.sh"

# central-app's status-page test renders /status in headless Chromium and
# fails (saying why) when /usr/bin/chromium is missing.
if [[ ! -x /usr/bin/chromium ]]; then
    if ((EUID == 0)) && command -v apt-get >/dev/null 2>&1; then
        log "installing Debian's chromium for the status-page test"
        { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; } ||
            log "warning: could not install chromium; the status-page test will fail"
    else
        log "warning: /usr/bin/chromium is missing (install it as root: apt-get install chromium); the status-page test will fail"
    fi
fi

# The compose file is only proven by deploy/compose-check.sh (by hand: it
# builds images for many minutes); every run at least checks that it parses
# with the variables it uses left at their defaults.
if ! command -v docker-compose >/dev/null 2>&1 && ((EUID == 0)) && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian's docker-compose to check the compose file"
    DEBIAN_FRONTEND=noninteractive apt-get install -y docker-compose >/dev/null ||
        { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y docker-compose >/dev/null; }
fi
if command -v docker-compose >/dev/null 2>&1; then
    log "docker-compose -f deploy/docker-compose.yml config -q"
    docker-compose -f "$ROOT/deploy/docker-compose.yml" config -q
else
    log "ERROR: docker-compose is missing and cannot be installed; the compose file is not checked"
    exit 1
fi

# ------------------------------------------------- leftovers of earlier runs
# Only objects nobody is connected to are removed, so a test run going on in
# parallel (another terminal) keeps its databases and vhosts.

leftover_dbs=$(psql "$TEST_DATABASE_URL" -XAtq -v ON_ERROR_STOP=1 -c "
    SELECT datname FROM pg_database d
    WHERE datname LIKE 'test\_%'
      AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)
    ORDER BY datname") || {
    log "ERROR: cannot query pg_database through TEST_DATABASE_URL=$TEST_DATABASE_URL"
    exit 1
}
if [[ -n $leftover_dbs ]]; then
    log "dropping $(wc -l <<<"$leftover_dbs") leftover test database(s)"
    while IFS= read -r db; do
        [[ -n $db ]] || continue
        dropdb --maintenance-db="$TEST_DATABASE_URL" --if-exists "$db" 2>/dev/null ||
            log "warning: could not drop database $db (in use?); leaving it"
    done <<<"$leftover_dbs"
fi

case "$AMQP_HOST" in
    127.0.0.1 | localhost | ::1) amqp_local=1 ;;
    *) amqp_local=0 ;;
esac
if ((amqp_local)) && command -v rabbitmqctl >/dev/null 2>&1; then
    if vhosts=$(rabbitmqctl -q list_vhosts --no-table-headers name 2>/dev/null); then
        leftover_vhosts=$(grep -E '^test-' <<<"$vhosts" || true)
        if [[ -n $leftover_vhosts ]]; then
            busy=$(rabbitmqctl -q list_connections --no-table-headers vhost 2>/dev/null || true)
            count=0
            while IFS= read -r vhost; do
                [[ -n $vhost ]] || continue
                if grep -qxF -- "$vhost" <<<"$busy"; then continue; fi
                rabbitmqctl -q delete_vhost "$vhost" >/dev/null 2>&1 ||
                    log "warning: could not delete vhost $vhost"
                count=$((count + 1))
            done <<<"$leftover_vhosts"
            log "deleted $count leftover test vhost(s)"
        fi
    else
        log "warning: rabbitmqctl list_vhosts failed; leftover test vhosts not cleaned"
    fi
else
    log "broker at $AMQP_HOST is not local or rabbitmqctl is missing; leftover test vhosts not cleaned"
fi

# ------------------------------------------------------------ build and test

log "cargo build --workspace --bins"
cargo build --workspace --bins

# `--workspace` unless the caller selects packages (-p/--package).
workspace=(--workspace)
for arg in "$@"; do
    case "$arg" in
        --) break ;;
        -p | -p* | --package | --package=*) workspace=() ;;
    esac
done

log "cargo test ${workspace[*]} $*"
cargo test "${workspace[@]}" "$@"

# The contract test (schemathesis against a running store and central) runs
# with the whole suite, not when the caller picked packages or tests.
if (($# == 0)); then
    log "scripts/contract-test.sh"
    "$ROOT/scripts/contract-test.sh"
    seed=${SOAK_SEED:-$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')}
    log "soak --minutes 1.5 --faults 9 --rate 40 --seed $seed"
    target_dir=${CARGO_TARGET_DIR:-$ROOT/target}
    "$target_dir/debug/soak" --minutes 1.5 --faults 9 --rate 40 --seed "$seed" \
        --report "$target_dir/soak-report.json"
fi
