#!/usr/bin/env bash
# test.sh: install dependencies, build, and run the whole test suite three
# times: a warnings-as-errors build, an ASan+UBSan build (GS_ASAN), and a
# ThreadSanitizer build (GS_TSAN).
#   GS_TEST_QUICK=1 bash scripts/test.sh   runs the first pass only.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc)

run_pass() {  # run_pass NAME BUILD_DIR CMAKE_ARGS...
  local name=$1 dir=$2
  shift 2
  echo "== $name: configure and build ($dir) =="
  mkdir -p "$dir"
  cmake -S . -B "$dir" -G Ninja -DGS_WARNINGS_AS_ERRORS=ON -DGS_BUILD_BENCH=ON "$@" > "$dir/configure.log" 2>&1 \
    || { cat "$dir/configure.log"; return 1; }
  cmake --build "$dir" -j "$jobs"
  echo "== $name: ctest =="
  (cd "$dir" && ctest -j "$jobs" --output-on-failure --timeout 300)
}

run_pass "release" build -DCMAKE_BUILD_TYPE=RelWithDebInfo
if [ "${GS_TEST_QUICK:-0}" != 1 ]; then
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_pass "asan+ubsan" build-asan -DCMAKE_BUILD_TYPE=Debug -DGS_ASAN=ON -DGS_BUILD_BENCH=OFF
  TSAN_OPTIONS=halt_on_error=1 \
    run_pass "tsan" build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGS_TSAN=ON -DGS_BUILD_BENCH=OFF
fi
