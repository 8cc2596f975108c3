#!/bin/sh
# Creates the namespace if missing and registers SEARCH_ATTRIBUTES (Name=Type, space separated).
# Registering one that already exists with the same type changes nothing; with another type it
# fails, and so does this job: the workflows rely on these types, so fix the namespace by hand.
set -eu
at="--address $TEMPORAL_ADDRESS"
ns="$TEMPORAL_NAMESPACE"
tries=0
until temporal operator cluster health $at >/dev/null 2>&1; do
  tries=$((tries + 1))
  [ "$tries" -lt 60 ] || { echo "Temporal at $TEMPORAL_ADDRESS is not healthy" >&2; exit 1; }
  sleep 2
done
temporal operator namespace describe $at --namespace "$ns" >/dev/null 2>&1 ||
  temporal operator namespace create $at --namespace "$ns" --retention "$NAMESPACE_RETENTION"
for pair in $SEARCH_ATTRIBUTES; do
  temporal operator search-attribute create $at --namespace "$ns" \
    --name "${pair%%=*}" --type "${pair#*=}"
done
echo "namespace $ns ready with search attributes: $SEARCH_ATTRIBUTES"
