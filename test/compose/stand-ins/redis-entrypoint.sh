#!/bin/sh
# As the official redis image's entrypoint: options alone (`--appendonly yes`) or a .conf file mean
# redis-server; as root, /data is handed to the redis user and the server runs as that user.
set -e
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
  set -- redis-server "$@"
fi
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
  find . \! -user redis -exec chown redis '{}' +
  exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi
# The official image is built with protected mode off (it is reached over the container network, not
# loopback); Debian's binary has it on, so say it here unless a config file comes first.
if [ "$1" = redis-server ] && [ "${2%.conf}" = "${2:-}" ]; then
  shift
  set -- redis-server --protected-mode no "$@"
fi
exec "$@"
