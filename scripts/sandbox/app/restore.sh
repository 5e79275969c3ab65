#!/bin/sh
# Loads the newest dump in RESTORE_DIR (backup.sh's output as the backup restored it) into the
# app's "database" (/data/greetings.txt in the running container), as `psql < dump` through
# `docker exec` would. Runs from the app's source directory (src/); the rollback pipeline sets
# RESTORE_DIR (app.json: scripts.restore).
set -eu
: "${RESTORE_DIR:?RESTORE_DIR must name the directory that holds the restored backup}"
dump=$(find "$RESTORE_DIR" -maxdepth 1 -name 'greetings-*.dump' | sort | tail -n 1)
[ -n "$dump" ] || { echo "no greetings-*.dump in $RESTORE_DIR" >&2; exit 1; }
docker exec -i sgos-hello-app sh -c 'cat > /data/greetings.txt.restoring && mv /data/greetings.txt.restoring /data/greetings.txt' < "$dump"
echo "restored ${dump##*/}"
