#!/bin/sh
# First start of the PostgreSQL volume only: a role for Temporal (which creates its own
# databases, temporal and temporal_visibility) and a role and database for the inquiry store.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v temporal_password="$TEMPORAL_DB_PASSWORD" \
  -v inquiries_password="$INQUIRIES_DB_PASSWORD" <<'SQL'
CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_password';
CREATE ROLE inquiries LOGIN PASSWORD :'inquiries_password';
CREATE DATABASE inquiries OWNER inquiries;
SQL
