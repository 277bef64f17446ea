#!/usr/bin/env bash
# Stops the processes deploy/local/up.sh started, using the pid files in
# deploy/local/run/: SIGTERM, up to STOP_TIMEOUT_SECS (10) for a graceful
# shutdown, then SIGKILL. Harmless when nothing runs. Leaves the databases,
# the broker, the logs and the dev key alone.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUN_DIR=$SCRIPT_DIR/run
STOP_TIMEOUT_SECS=${STOP_TIMEOUT_SECS:-10}

log() { printf '[down] %s\n' "$*"; }

# Which binary a pid file's process must be, so a stale pid file whose pid
# got reused by an unrelated process never leads to killing that process.
expected_binary() {
    case "$1" in
        central) echo central-app ;;
        store-*) echo store-app ;;
        worker) echo sync-worker ;;
        *) echo "" ;;
    esac
}

stop_one() {
    local name=$1
    local pidfile=$RUN_DIR/$name.pid
    [[ -f $pidfile ]] || return 0

    local pid
    pid=$(tr -dc '0-9' <"$pidfile")
    if [[ -z $pid ]] || ! kill -0 "$pid" 2>/dev/null; then
        log "$name: not running (stale pid file removed)"
        rm -f "$pidfile"
        return 0
    fi

    local want comm
    want=$(expected_binary "$name")
    comm=$(ps -p "$pid" -o comm= 2>/dev/null || true)
    if [[ -n $want && $comm != "$want" ]]; then
        log "$name: pid $pid is '$comm', not $want; leaving it alone (stale pid file removed)"
        rm -f "$pidfile"
        return 0
    fi

    log "$name: stopping pid $pid (SIGTERM)"
    kill -TERM "$pid" 2>/dev/null || true
    local polls=0
    while kill -0 "$pid" 2>/dev/null; do
        if ((polls++ >= STOP_TIMEOUT_SECS * 5)); then
            log "$name: still running after ${STOP_TIMEOUT_SECS}s, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.2
    done
    rm -f "$pidfile"
}

if [[ ! -d $RUN_DIR ]]; then
    log "nothing to stop"
    exit 0
fi

# Worker first (it finishes its in-flight pushes while central is still up),
# then the stores, central last.
shopt -s nullglob
names=(worker)
store_pids=("$RUN_DIR"/store-*.pid)
for ((i = ${#store_pids[@]} - 1; i >= 0; i--)); do
    f=${store_pids[i]##*/}
    names+=("${f%.pid}")
done
names+=(central)
# Anything else a previous version of up.sh may have left.
for f in "$RUN_DIR"/*.pid; do
    n=${f##*/}
    n=${n%.pid}
    case " ${names[*]} " in *" $n "*) ;; *) names+=("$n") ;; esac
done

stopped_any=0
for n in "${names[@]}"; do
    if [[ -f $RUN_DIR/$n.pid ]]; then
        stopped_any=1
        stop_one "$n"
    fi
done
if ((stopped_any == 0)); then
    log "nothing to stop"
fi
