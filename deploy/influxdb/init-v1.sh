#!/bin/bash
# InfluxDB 2.x first start: map the bucket for the v1 API (/write and InfluxQL /query) that
# EstateWatch's query layer uses, and create the v1 user the services authenticate as.
set -euo pipefail
bucket_id=$(influx bucket list --name "$DOCKER_INFLUXDB_INIT_BUCKET" --hide-headers | cut -f1)
influx v1 dbrp create --db estatewatch --rp autogen --bucket-id "$bucket_id" --default
influx v1 auth create --username "$INFLUX_V1_USER" --password "$INFLUX_V1_PASSWORD" \
  --read-bucket "$bucket_id" --write-bucket "$bucket_id"
