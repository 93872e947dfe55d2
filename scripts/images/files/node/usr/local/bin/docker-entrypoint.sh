#!/bin/sh
# Node image entry point, as the official image's: options, a script, or anything that is not a
# command runs with node.
set -e
if [ "${1#-}" != "$1" ] || ! command -v -- "$1" >/dev/null 2>&1; then
  set -- node "$@"
fi
exec "$@"
