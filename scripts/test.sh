#!/usr/bin/env bash
# The whole test suite: unit, simulator (1,000+ seeds), fuzz (short runs), lab integration and
# keepalived interop tests. Needs root (network namespaces). CI runs exactly this.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
export JAVA_HOME="${TANDEM_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
export PATH="$JAVA_HOME/bin:$PATH"
cd "$here"
"$here/scripts/setup-debian.sh"
# Leftovers of an interrupted earlier run must not disturb this one.
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^(tlab|tit|tlx|tcfg)' || true); do
  ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
done
mvn -B -ntp install "$@"
# Jazzer fuzzes one test per JVM in fuzzing mode: give each decoder its own short run.
for t in $(grep -rl '@FuzzTest' --include='*.java' */src/test/java | sort); do
  module="${t%%/*}"
  class="$(basename "$t" .java)"
  echo "== fuzzing $module $class"
  JAZZER_FUZZ=1 mvn -B -ntp -q -pl "$module" surefire:test -Dtest="$class" -Dsurefire.failIfNoSpecifiedTests=false
done
# the dashboard's screenshots from the browser tests, kept as build artifacts
mkdir -p "$here/build-artifacts/screenshots"
cp -f "$here"/node/target/screenshots/*.png "$here/build-artifacts/screenshots/" 2>/dev/null || true
echo "tandem: all tests passed"
