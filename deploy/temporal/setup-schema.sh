#!/bin/sh
# Brings Temporal's two databases to this image's schema version, creating them if missing.
# Every step is safe to repeat (an existing database or a newer version is left alone), so
# running it again after pulling newer images is the schema upgrade.
set -eu
sql() {
  db="$1"
  shift
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" \
    -u "$POSTGRES_USER" --db "$db" "$@"
}
schemas=/etc/temporal/schema/postgresql/v12
for pair in temporal:temporal temporal_visibility:visibility; do
  db="${pair%%:*}"
  sql "$db" create
  sql "$db" setup-schema -v 0.0
  sql "$db" update-schema -d "$schemas/${pair#*:}/versioned"
done
echo "Temporal schema ready"
