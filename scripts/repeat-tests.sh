#!/usr/bin/env bash
# repeat-tests.sh: the proof that the suite is deterministic. Runs the whole
# suite of each pass (release, asan, tsan; see passes.sh) with
# `ctest --repeat until-fail:N`, once on an idle machine and once while a
# parallel build of the project loads every core. Not part of CI: with
# N=20 on two cores the idle runs take about half an hour (release 7 min,
# ASan 13, TSan 11 on 7ab4b9d) and the loaded ones about an hour.
#
#   bash scripts/repeat-tests.sh [--repeat N] [--passes release,asan,tsan]
#                                [--load idle,build]
#
# Prints one line per pass and load, and ends with a 'N passed, N failed'
# line counting (pass, load) runs; logs go to repeat-logs/. Exit status 1
# when any test failed once.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/passes.sh

repeat=20
passes=${pass_names// /,}
loads=idle,build
while [ $# -gt 0 ]; do
  case $1 in
    --repeat) repeat=$2; shift 2 ;;
    --passes) passes=$2; shift 2 ;;
    --load) loads=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "repeat-tests.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

logs=repeat-logs
mkdir -p "$logs"
load_pid=

# start_load() rebuilds the project from scratch in build-load, over and
# over, with one job per core: the load a developer's parallel build makes.
start_load() {
  mkdir -p build-load
  cmake -S . -B build-load -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo > build-load/configure.log 2>&1
  # Its own process group (setsid), so that stop_load() ends the compilers
  # at once rather than after the build under way.
  setsid bash -c 'while :; do
      cmake --build build-load --target clean > /dev/null 2>&1
      cmake --build build-load -j "$(nproc)" > /dev/null 2>&1
    done' &
  load_pid=$!
  sleep 5  # let the compilers get going
}

stop_load() {
  [ -n "$load_pid" ] || return 0
  kill -TERM -- "-$load_pid" 2>/dev/null || true
  wait "$load_pid" 2>/dev/null || true
  load_pid=
}
trap stop_load EXIT

ok=0
bad=0
summary=()
for pass in ${passes//,/ }; do
  echo "== $pass: build =="
  build_pass "$pass" > "$logs/build-$pass.log" 2>&1 || { cat "$logs/build-$pass.log"; exit 1; }
  dir=$(pass_dir "$pass")
  for load in ${loads//,/ }; do
    case $load in
      idle) ;;
      build) start_load ;;
      *) echo "repeat-tests.sh: --load takes idle and build" >&2; exit 2 ;;
    esac
    log="$logs/$pass-$load.log"
    echo "== $pass, $load: ctest --repeat until-fail:$repeat (log: $log) =="
    start=$(date +%s)
    # shellcheck disable=SC2046
    if (cd "$dir" && env $(pass_env "$pass") ctest -j "$(nproc)" --timeout 300 --output-on-failure \
          --repeat "until-fail:$repeat" $(pass_ctest_args "$pass")) > "$log" 2>&1; then
      ok=$((ok + 1))
      verdict=passed
    else
      bad=$((bad + 1))
      verdict=FAILED
    fi
    stop_load
    tests=$(grep -Eo 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" || echo "no ctest summary")
    line="$pass, $load: $verdict in $(( $(date +%s) - start )) s, each test up to $repeat times: $tests"
    echo "$line"
    grep -E '^\s+[0-9]+ - ' "$log" | grep -v '(Skipped)' || true
    summary+=("$line")
  done
done

echo
echo "== summary =="
printf '%s\n' "${summary[@]}"
echo "repeat-tests: $ok passed, $bad failed"
[ "$bad" -eq 0 ]
