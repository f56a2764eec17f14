#!/usr/bin/env bash
# Fetch the pinned Apache Kafka jars (deploy/kafka/pom.xml) from Maven Central
# into .cache/kafka/libs. Idempotent: a stamp file holds the pom's checksum, so
# a later run does nothing until pom.xml changes.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
POM="$ROOT/deploy/kafka/pom.xml"
LIBS="${KAFKA_LIBS_DIR:-$ROOT/.cache/kafka/libs}"
STAMP="$LIBS/.fetched"

for tool in java mvn; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "deploy/kafka/fetch.sh: '$tool' is not on PATH; the local Kafka needs Java 17+ and Maven" \
      "(Debian/Ubuntu: apt-get install openjdk-17-jre-headless maven)" >&2
    exit 1
  fi
done

wanted="$(sha256sum "$POM" | cut -d' ' -f1)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$wanted" ]]; then
  exit 0
fi

echo "fetching the Kafka jars pinned in deploy/kafka/pom.xml into ${LIBS#"$ROOT/"}" >&2
# A pom change may drop a jar: start from no jars, not a mix of versions.
rm -f "$LIBS"/*.jar
mkdir -p "$LIBS"
mvn -q -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies \
  -DoutputDirectory="$LIBS" -DincludeScope=runtime
echo "$wanted" >"$STAMP"
