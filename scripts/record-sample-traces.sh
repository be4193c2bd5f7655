#!/usr/bin/env bash
# record-sample-traces.sh: records traces/'s sample traces from the examples,
# with the tree's own build (build/, RelWithDebInfo):
#
#   photo-pipeline.gstrace  the demo: 20 users through a pool, a CPU-bound saver
#   downloader.gstrace      libcurl downloads through patch_all(), a local HTTP server
#   echo-load.gstrace       examples/echo_server under 8 connections of load
#   stall-zoo.gstrace       every kind of stall, a thread-pool job, a run-info dump
#   crash.gstrace           stall_zoo --crash: a greenlet dereferences null
#
#   bash scripts/record-sample-traces.sh [OUT_DIR]   (default traces/)
#
# Stacks name functions of these builds' binaries: a trace keeps the
# symbols it needs (see docs/trace-format.md), so the files stay readable
# after a rebuild. tests/viewer opens each of them.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-traces}
mkdir -p build "$out"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo > build/configure.log 2>&1 \
  || { cat build/configure.log; exit 1; }
cmake --build build --target greenscope greenscope_tracer photo_pipeline downloader echo_server stall_zoo \
  gs_echo_load_client > /dev/null
gs=./build/tracer/cli/greenscope
ex=./build/examples

record() {  # record NAME PROGRAM ARGS...: records, tolerating the program's own failure (crash)
  local name=$1
  shift
  "$gs" record -q -o "$out/$name.gstrace" -- "$@" > /dev/null 2>&1 || true
  [ -s "$out/$name.gstrace" ] || { echo "record-sample-traces.sh: no trace from $*" >&2; exit 1; }
  printf '%-24s %8s bytes  ' "$name.gstrace" "$(stat -c %s "$out/$name.gstrace")"
  "$gs" info "$out/$name.gstrace" | grep -m1 -o '[0-9,]* events' || echo
}

record photo-pipeline "$ex/photo_pipeline/photo_pipeline"
record downloader "$ex/downloader/downloader" --latency-ms 40
record stall-zoo "$ex/stall_zoo/stall_zoo" --rounds 2
record crash "$ex/stall_zoo/stall_zoo" --rounds 1 --crash

# The echo server, traced, under load from bench's client for a moment;
# SIGINT stops it gracefully (its trace is then complete).
port_file=$(mktemp)
GREENSCOPE_TRACE="$out/echo-load.gstrace" "$ex/echo_server/echo_server" --port 0 > "$port_file" 2>&1 &
server=$!
for _ in $(seq 100); do grep -q listening "$port_file" && break; sleep 0.1; done
port=$(grep -o '[0-9]*$' "$port_file" | head -1)
./build/bench/gs_echo_load_client 127.0.0.1 "$port" 8 64 0.3 0.1 > /dev/null
kill -INT "$server"
wait "$server" || true
rm -f "$port_file"
printf '%-24s %8s bytes  ' echo-load.gstrace "$(stat -c %s "$out/echo-load.gstrace")"
"$gs" info "$out/echo-load.gstrace" | grep -m1 -o '[0-9,]* events' || echo
