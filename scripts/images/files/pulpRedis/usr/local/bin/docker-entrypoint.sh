#!/bin/sh
# Redis image entry point, as the official image's: options or a *.conf file run redis-server with
# them; started as root, it hands /data to the redis user (999) and drops to it.
set -e
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
  set -- redis-server "$@"
fi
if [ "$1" = "redis-server" ] && [ "$(id -u)" = "0" ]; then
  find . \! -user redis -exec chown redis '{}' +
  exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi
# Nothing redis writes should be readable by others, unless the caller chose a umask.
if [ "$(umask)" = "0022" ]; then umask 0077; fi
exec "$@"
