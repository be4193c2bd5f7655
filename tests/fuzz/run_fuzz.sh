#!/usr/bin/env bash
# run_fuzz.sh TARGET SECONDS CORPUS ARTIFACTS: the bounded run of one
# libFuzzer target that ctest makes in the fuzz pass (label fuzz; see
# gs_add_fuzz_test() in tests/CMakeLists.txt). It fuzzes for SECONDS from the
# committed CORPUS, read only: new inputs go to a scratch directory, removed
# after. Fails on any crash, sanitizer report, leak, input slower than 10 s
# or over 2 GB; libFuzzer saves the input that did it under ARTIFACTS.
# The commands' own stderr is closed (-close_fd_mask=2); libFuzzer's and
# the sanitizers' reports still show.
set -euo pipefail
target=$1 seconds=$2 corpus=$3 artifacts=$4
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$artifacts"
"$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -close_fd_mask=2 \
  -print_final_stats=1 -artifact_prefix="$artifacts/$(basename "$target")-" "$scratch" "$corpus"
