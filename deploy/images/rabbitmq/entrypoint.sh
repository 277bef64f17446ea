#!/bin/sh
# Entrypoint of the rabbitmq:3-management stand-in (see Dockerfile): writes
# /etc/rabbitmq/rabbitmq.conf from RABBITMQ_DEFAULT_USER / _PASS / _VHOST
# (defaults guest/guest and /, as in the official image, and like it lets
# that user connect from other hosts), then runs the server as rabbitmq,
# logging to stdout.
set -eu

if [ "$(id -u)" = 0 ]; then
    {
        echo "loopback_users = none"
        echo "listeners.tcp.default = 5672"
        echo "management.tcp.port = 15672"
        echo "default_user = ${RABBITMQ_DEFAULT_USER:-guest}"
        echo "default_pass = ${RABBITMQ_DEFAULT_PASS:-guest}"
        echo "default_vhost = ${RABBITMQ_DEFAULT_VHOST:-/}"
        echo "log.console = true"
        echo "log.console.level = info"
        echo "log.file = false"
    } >/etc/rabbitmq/rabbitmq.conf
    chown rabbitmq:rabbitmq /etc/rabbitmq/rabbitmq.conf /var/lib/rabbitmq
    chmod 600 /etc/rabbitmq/rabbitmq.conf
    exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups "$0" "$@"
fi

cd /var/lib/rabbitmq
if [ "${1:-}" = rabbitmq-server ]; then
    # The server itself, not Debian's wrapper (/usr/sbin/rabbitmq-server),
    # which sends the logs to /var/log/rabbitmq and keeps a shell as PID 1.
    shift
    exec /usr/lib/rabbitmq/bin/rabbitmq-server "$@"
fi
exec "$@"
