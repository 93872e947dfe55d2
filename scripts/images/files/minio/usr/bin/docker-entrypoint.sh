#!/bin/sh
# MinIO image entry point: every command line runs as `minio ARGS` unless it already starts with
# minio (the upstream image does the same, so `args: [server, /data]` works unchanged).
set -e
if [ "$1" != "minio" ] && [ -n "$1" ]; then
  set -- minio "$@"
fi
exec "$@"
