#!/usr/bin/env bash
# check_install.sh BUILD_DIR CONSUMER_SRC SCRATCH: install, build, run.
set -euo pipefail
build=$1 consumer=$2 scratch=$3
rm -rf "$scratch"
mkdir -p "$scratch"
cmake --install "$build" --prefix "$scratch/prefix" > "$scratch/install.log"
test -f "$scratch/prefix/include/greenscope/runtime.h"
cmake -S "$consumer" -B "$scratch/build" -DCMAKE_PREFIX_PATH="$scratch/prefix" > "$scratch/configure.log"
cmake --build "$scratch/build" > "$scratch/build.log"
out=$("$scratch/build/consumer")
echo "$out"
[ "$out" = "consumer: 3 greenlets, sum 6" ]
