#!/bin/sh
# Build the password file from the environment (secrets come from .env, never the repo).
set -eu
pw=/mosquitto/config/passwd
: > "$pw"
for user in gw-harbour-1 ingest rules api monitor simulators hh-01 hh-02 hh-03 hh-04; do
  var="MQTT_PASSWORD_$(echo "$user" | tr 'a-z-' 'A-Z_')"
  eval "secret=\${$var:-}"
  [ -n "$secret" ] && mosquitto_passwd -b "$pw" "$user" "$secret"
done
chmod 0700 "$pw"
exec mosquitto -c /mosquitto/config/mosquitto.conf
