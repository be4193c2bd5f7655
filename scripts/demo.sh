#!/usr/bin/env bash
# demo.sh: the main job on a fresh Debian 12 machine: install dependencies,
# build, and run the demo program. (The tracer and viewer issues grow this
# into "record a traced run, print its report, show the viewer".)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
mkdir -p build
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo > build/configure.log 2>&1 \
  || { cat build/configure.log; exit 1; }
cmake --build build --target photo_pipeline
echo
echo "== demo: examples/photo_pipeline (the gevent talk's download_photos, 20 users) =="
./build/examples/photo_pipeline/photo_pipeline
