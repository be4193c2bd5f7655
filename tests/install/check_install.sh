#!/usr/bin/env bash
# check_install.sh BUILD_DIR CONSUMER_SRC SCRATCH [FLAGS [LINK_FLAGS [CXX]]]:
# install the build into SCRATCH/prefix, build the consumer project against
# it (with the build's compiler CXX when given), run it.
set -euo pipefail
build=$1 consumer=$2 scratch=$3 flags=${4:-} link_flags=${5:-${4:-}} cxx=${6:-}
rm -rf "$scratch"
mkdir -p "$scratch"
cmake --install "$build" --prefix "$scratch/prefix" > "$scratch/install.log"
test -f "$scratch/prefix/include/greenscope/runtime.h"
cmake -S "$consumer" -B "$scratch/build" -DCMAKE_PREFIX_PATH="$scratch/prefix" ${cxx:+-DCMAKE_CXX_COMPILER="$cxx"} \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$link_flags" > "$scratch/configure.log"
cmake --build "$scratch/build" > "$scratch/build.log"
out=$("$scratch/build/consumer" "$scratch/consumer.gstrace")
echo "$out"
[ "$out" = "consumer: 3 greenlets, sum 6, 3 spawns traced" ]
# The installed CLI runs from the prefix and reads the file.
"$scratch/prefix/bin/greenscope" info "$scratch/consumer.gstrace" > "$scratch/info.log"
grep -q "spawn" "$scratch/info.log"
# GREENSCOPE_TRACE finds the installed tracer beside the installed runtime.
rm -f "$scratch/env.gstrace"
GREENSCOPE_TRACE="$scratch/env.gstrace" GREENSCOPE_TRACE_QUIET=1 "$scratch/build/plain" > /dev/null
"$scratch/prefix/bin/greenscope" info "$scratch/env.gstrace" > "$scratch/env-info.log"
grep -q "spawn" "$scratch/env-info.log"
