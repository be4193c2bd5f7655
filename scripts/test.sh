#!/usr/bin/env bash
# test.sh: install dependencies, build, and run the whole test suite three
# times: a warnings-as-errors build, an ASan+UBSan build (GS_ASAN), and a
# ThreadSanitizer build (GS_TSAN); then the fuzz pass: the libFuzzer targets
# under ASan+UBSan, each fuzzed for 30 s from tests/fuzz/corpus.
#   GS_TEST_QUICK=1 bash scripts/test.sh   runs the first pass only.
# scripts/repeat-tests.sh runs the same passes many times over, idle and
# under load, to show the suite is deterministic.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
source scripts/passes.sh

run_pass() {  # run_pass NAME
  local name=$1 dir
  dir=$(pass_dir "$name")
  echo "== $name: configure and build ($dir) =="
  build_pass "$name"
  echo "== $name: ctest =="
  # shellcheck disable=SC2046
  (cd "$dir" && env $(pass_env "$name") ctest -j "$(nproc)" --output-on-failure --timeout 300 \
    $(pass_ctest_args "$name"))
}

run_pass release
if [ "${GS_TEST_QUICK:-0}" != 1 ]; then
  run_pass asan
  run_pass tsan
  run_pass fuzz
fi
