#!/usr/bin/env bash
# report_compare.sh: what `greenscope report` costs on a big real trace, now
# and before the analysis moved into greenscope::analysis (BASE_REF, default
# a1826b6, the last commit with the CLI's own models). Builds both CLIs
# (Release, their own build dirs; the baseline from a git worktree of
# BASE_REF), records a two-thread yield ping-pong of about EVENTS events
# with gs_pingpong_record, then runs the two `report`s alternately ROUNDS
# times under /usr/bin/time and prints a markdown table of the medians
# (wall, user+sys CPU, peak RSS) with the ratios, and whether the two
# outputs are identical.
#
#   bash bench/report_compare.sh
#
# Environment: BUILD_DIR (default build-reportbench; the baseline goes to
# $BUILD_DIR-base), BASE_REF (default a1826b6), EVENTS (default 16000000),
# ROUNDS (default 3), TRACE_FILE (default /tmp/gs-report-bench.gstrace).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-build-reportbench}"
BASE_REF="${BASE_REF:-a1826b6}"
EVENTS="${EVENTS:-16000000}"
ROUNDS="${ROUNDS:-3}"
TRACE_FILE="${TRACE_FILE:-/tmp/gs-report-bench.gstrace}"
cd "$ROOT"
BASE_DIR="$BUILD_DIR-base"

configure() {  # configure SRC BUILD
  mkdir -p "$2"
  cmake -S "$1" -B "$2" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGS_BUILD_TESTS=OFF -DGS_BUILD_EXAMPLES=OFF \
    -DGS_BUILD_BENCH=ON > "$2/configure.log" 2>&1 || { cat "$2/configure.log" >&2; exit 1; }
}

echo "== build the CLI and gs_pingpong_record ($BUILD_DIR)" >&2
configure . "$BUILD_DIR"
ninja -C "$BUILD_DIR" greenscope gs_pingpong_record >&2

echo "== build the baseline CLI at $BASE_REF ($BASE_DIR)" >&2
if [ ! -d "$BASE_DIR/src" ]; then
  mkdir -p "$BASE_DIR"
  git worktree add --detach "$BASE_DIR/src" "$BASE_REF" >&2
fi
configure "$BASE_DIR/src" "$BASE_DIR/build"
ninja -C "$BASE_DIR/build" greenscope >&2
cli_now="$BUILD_DIR/tracer/greenscope"
cli_base="$BASE_DIR/build/tracer/greenscope"
[ -x "$cli_now" ] || cli_now=$(find "$BUILD_DIR" -name greenscope -type f -perm -u+x | head -1)
[ -x "$cli_base" ] || cli_base=$(find "$BASE_DIR/build" -name greenscope -type f -perm -u+x | head -1)

# Two threads, two greenlets each: a yield is a suspend and a resume, so
# YIELDS = EVENTS / 8 per greenlet.
echo "== record $TRACE_FILE (about $EVENTS events)" >&2
"$(find "$BUILD_DIR" -name gs_pingpong_record -type f | head -1)" "$TRACE_FILE" $((EVENTS / 8)) 2 >&2
"$cli_now" info "$TRACE_FILE" | head -5 >&2

# run_one CLI OUT: one report; prints "wall cpu maxrss_kb".
run_one() {
  /usr/bin/time -f "%e %U %S %M" -o "$2.time" "$1" report "$TRACE_FILE" > "$2"
  awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$2.time"
}

: > "$BUILD_DIR/base.runs"
: > "$BUILD_DIR/now.runs"
for ((r = 1; r <= ROUNDS; r++)); do
  echo "== round $r of $ROUNDS" >&2
  run_one "$cli_base" "$BUILD_DIR/base.out" >> "$BUILD_DIR/base.runs"
  run_one "$cli_now" "$BUILD_DIR/now.out" >> "$BUILD_DIR/now.runs"
done

median() {  # median FILE COLUMN
  sort -g -k"$2","$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END { print v[int((NR + 1) / 2)] }'
}
identical=no
cmp -s "$BUILD_DIR/base.out" "$BUILD_DIR/now.out" && identical=yes

bw=$(median "$BUILD_DIR/base.runs" 1); nw=$(median "$BUILD_DIR/now.runs" 1)
bc=$(median "$BUILD_DIR/base.runs" 2); nc=$(median "$BUILD_DIR/now.runs" 2)
bm=$(median "$BUILD_DIR/base.runs" 3); nm=$(median "$BUILD_DIR/now.runs" 3)
events=$("$cli_now" info "$TRACE_FILE" | awk '/^events/ { print $2; exit }')
file_bytes=$(stat -c %s "$TRACE_FILE")
echo
echo "\`greenscope report\` on $TRACE_FILE (${events:-?} events, $((file_bytes / 1048576)) MiB), medians of $ROUNDS alternating rounds:"
echo
echo "| CLI | wall s | CPU s | peak RSS MB |"
echo "|---|---|---|---|"
echo "| before ($BASE_REF) | $bw | $bc | $((bm / 1024)) |"
echo "| now ($(git rev-parse --short HEAD)) | $nw | $nc | $((nm / 1024)) |"
awk -v bw="$bw" -v nw="$nw" -v bc="$bc" -v nc="$nc" -v bm="$bm" -v nm="$nm" \
  'BEGIN { printf "| now / before | %.2f | %.2f | %.2f |\n", nw / bw, nc / bc, nm / bm }'
echo
echo "outputs identical: $identical"
