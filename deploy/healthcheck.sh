#!/bin/sh
# HEALTHCHECK of the inventory-ledger image (deploy/Dockerfile): GET
# /health/ready of the server this container runs. Which server is read from
# the container's main process (PID 1); its port from BIND_ADDR (central-app,
# store-app) or METRICS_ADDR (sync-worker), else the binaries' defaults.
# A container running a one-shot CLI command (migrate, populate, ...) has
# nothing to probe and counts as healthy. Runs on the image's busybox.
set -eu
cmd=$(tr '\000' ' ' </proc/1/cmdline 2>/dev/null || true)
case "$cmd" in
    *"sync-worker serve"*) addr=${METRICS_ADDR:-0.0.0.0:9100} ;;
    *"store-app serve"*) addr=${BIND_ADDR:-0.0.0.0:8001} ;;
    *"central-app serve"*) addr=${BIND_ADDR:-0.0.0.0:8000} ;;
    *) exit 0 ;;
esac
# (no -T: busybox 1.35's wget crashes with it; the health check's timeout applies)
exec wget -q -O /dev/null "http://127.0.0.1:${addr##*:}/health/ready"
