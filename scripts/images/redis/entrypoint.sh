#!/bin/sh
# Like redis-stack-server: no arguments starts redis-server with the modules
# loaded and REDIS_ARGS appended; arguments starting with "-" go to
# redis-server (like the official redis image); anything else is run as is.
set -e
if [ $# -eq 0 ]; then
    # shellcheck disable=SC2086
    set -- redis-server --protected-mode no --dir /data \
        --loadmodule /usr/lib/redis/modules/redisearch.so ${REDIS_ARGS:-}
elif [ "${1#-}" != "$1" ]; then
    # shellcheck disable=SC2086
    set -- redis-server --protected-mode no "$@" ${REDIS_ARGS:-}
fi
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
    chown -R redis:redis /data 2>/dev/null || true
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
fi
exec "$@"
