#!/usr/bin/env bash
# demo.sh: the main job on a fresh Debian 12 machine: install dependencies,
# build, record a traced run of the demo program, print its report, and the
# stall report that finds the blocking bug it hides.
# (The viewer issue grows this into "...and show it in greenscope-viewer".)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
mkdir -p build
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo > build/configure.log 2>&1 \
  || { cat build/configure.log; exit 1; }
cmake --build build --target greenscope greenscope_tracer photo_pipeline
greenscope=./build/tracer/cli/greenscope
trace=build/demo.gstrace

echo
echo "== record: examples/photo_pipeline (the gevent talk's download_photos, 20 users), traced =="
"$greenscope" record -o "$trace" -- ./build/examples/photo_pipeline/photo_pipeline
echo
echo "== report: where each greenlet spent its time =="
"$greenscope" report "$trace"
echo
echo "== stalls: who froze the hub's thread, and where (the demo hides a CPU-bound bug) =="
"$greenscope" stalls "$trace"
echo
"$greenscope" export --format chrome "$trace" -o build/demo.json
echo "Timeline: open build/demo.json in https://ui.perfetto.dev (or chrome://tracing)."
echo "More: $greenscope info $trace; $greenscope dump $trace --greenlet user-7"
