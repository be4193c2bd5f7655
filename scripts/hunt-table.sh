#!/usr/bin/env bash
# hunt-table.sh: the planted-bug table of docs/stalls.md (issue 13). Builds
# tests/hunt (hunt_planted, hunt_tests) in build/ unless told where, then
# runs every planted kind N times on an idle machine and N times with one
# busy process per core (`hunt_planted hog`), each traced with
# GREENSCOPE_TRACE as a user would, and prints one markdown row per kind:
# the verdict the stall report gave, the worst duration error against the
# program's own measurement, the samples, how many runs passed every check,
# and what gevent's monitor thread would have reported. Runs that disagreed
# with the truth are listed after the table.
#
#   bash scripts/hunt-table.sh [--runs N] [--build DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

runs=5
build=build
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "hunt-table.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

if [ ! -f "$build/build.ninja" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGS_BUILD_VIEWER=OFF > /dev/null
fi
ninja -C "$build" hunt_tests hunt_planted greenscope_tracer > /dev/null
echo "greenscope $(git rev-parse --short HEAD), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) before the runs"
echo
exec "$build/tests/hunt/hunt_tests" --table --runs "$runs"
