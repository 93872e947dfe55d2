#!/bin/bash
# Waits until every migration is applied (the migration Job applies them); the api, content app
# and workers must not start against an older schema.
echo "Checking for database migrations"
while true; do
  pulpcore-manager showmigrations | grep '\[ \]' >/dev/null 2>&1
  case $? in
    1) echo "Database migrated!"; exit 0 ;;
    0) echo "Database migration in progress. Waiting..." ;;
    *) echo "Waiting for the database to answer" ;;
  esac
  sleep 5
done
