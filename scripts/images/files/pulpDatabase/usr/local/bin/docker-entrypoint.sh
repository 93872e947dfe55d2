#!/bin/bash
# PostgreSQL image entry point: the part of the official image's docker-entrypoint.sh the farm
# uses. On an empty PGDATA it runs initdb with POSTGRES_USER (default postgres) and
# POSTGRES_PASSWORD, creates POSTGRES_DB, accepts password logins (scram-sha-256) from any
# address and listens on all of them; then it runs the server. Started as root it takes PGDATA
# and drops to postgres (999); started as another user (a pod's runAsUser) it runs as that user.
# Not implemented (the farm does not use them): /docker-entrypoint-initdb.d scripts,
# POSTGRES_INITDB_WALDIR, *_FILE secrets, nss_wrapper for users without a passwd entry.
set -Eeo pipefail

if [ "${1:0:1}" = '-' ]; then
  set -- postgres "$@"
fi

if [ "$1" = 'postgres' ] && [ "$(id -u)" = '0' ]; then
  mkdir -p "$PGDATA"
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
fi

if [ "$1" = 'postgres' ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}"
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "${POSTGRES_HOST_AUTH_METHOD:-}" != 'trust' ]; then
    echo 'error: the database is uninitialized and POSTGRES_PASSWORD is not set' >&2
    exit 1
  fi
  mkdir -p "$PGDATA"
  chmod 700 "$PGDATA" 2>/dev/null || :
  pwfile=$(mktemp)
  trap 'rm -f "$pwfile"' EXIT
  printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$pwfile"
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of options, as upstream takes it
  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust --auth-host="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" \
    ${POSTGRES_INITDB_ARGS:-} -D "$PGDATA"
  rm -f "$pwfile"
  printf 'host all all all %s\n' "${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" >>"$PGDATA/pg_hba.conf"
  printf "listen_addresses = '*'\nunix_socket_directories = '/var/run/postgresql'\n" >>"$PGDATA/postgresql.auto.conf"
  if [ "$POSTGRES_DB" != 'postgres' ]; then
    # Single-user mode: no server, no socket, no client program needed.
    printf 'CREATE DATABASE "%s";\n' "${POSTGRES_DB//\"/\"\"}" | postgres --single -j -D "$PGDATA" postgres >/dev/null
  fi
  echo 'PostgreSQL init process complete; ready for start up.'
fi

exec "$@"
