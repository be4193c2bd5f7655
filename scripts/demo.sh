#!/usr/bin/env bash
# demo.sh: the main job on a fresh Debian 12 machine: install dependencies,
# build, record a traced run of the demo program, print its report, and the
# stall report that finds the blocking bug it hides, then show the trace in
# greenscope-viewer at its worst stall: a window where there is a display, a
# screenshot PNG (from a private Xvfb) where there is none.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
mkdir -p build
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo > build/configure.log 2>&1 \
  || { cat build/configure.log; exit 1; }
cmake --build build --target greenscope greenscope_tracer greenscope-viewer photo_pipeline
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
viewer=./build/viewer/greenscope-viewer
echo
if [ -n "${DISPLAY:-}" ]; then
  echo "== viewer: the trace at its worst stall (close the window to finish) =="
  "$viewer" --select longest-stall "$trace"
else
  # No display: render the same view into a PNG on an Xvfb of our own
  # (software GL), on a display number Xvfb picks itself.
  shot=build/demo-viewer.png
  exec {fd}<> <(:)
  Xvfb -displayfd "$fd" -screen 0 1600x1000x24 -nolisten tcp > /dev/null 2>&1 &
  xvfb=$!
  read -r -u "$fd" display
  DISPLAY=":$display" LIBGL_ALWAYS_SOFTWARE=1 \
    "$viewer" --screenshot "$shot" --size 1600x1000 --select longest-stall "$trace"
  kill "$xvfb" 2> /dev/null || true
  echo "== viewer: no display here; its view of the worst stall is in $shot =="
fi
echo "Also: build/demo.json opens in https://ui.perfetto.dev;"
echo "      $greenscope info $trace; $greenscope dump $trace --greenlet user-7"
