#!/bin/sh
# Writes the front page (the version from app.json), initialises the "database" in /data,
# then serves HTTP on 8080 with busybox httpd until SIGTERM.
set -eu
version=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' /app/app.json)
mkdir -p /data /tmp/www
cp -r /app/www/. /tmp/www/
printf '%s (sgos-hello %s)\n' "${HELLO_GREETING:-Hello}" "$version" > /tmp/www/index.html
[ -f /data/greetings.txt ] || echo "first greeting $(date -u +%Y-%m-%dT%H:%M:%SZ)" > /data/greetings.txt
echo "{\"ts\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",\"level\":\"info\",\"msg\":\"sgos-hello $version listening on 8080\"}"
trap 'exit 0' TERM INT
httpd -f -p 8080 -h /tmp/www &
wait
