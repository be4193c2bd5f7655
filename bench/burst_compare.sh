#!/usr/bin/env bash
# burst_compare.sh: spawn+join, 100,000 live greenlets and the 200,000-greenlet
# bursts of gs_bench, this tree against an older commit, in turns.
#
#   OLD=6c7dd2f bash bench/burst_compare.sh [ROUNDS]     # default 3 rounds
#
# The old commit is checked out in a worktree (OLD_DIR, default
# /tmp/gs-burst-old) with this tree's bench/runtime_bench.cpp, so both run
# the same benchmarks; both are built Release (gs_bench only). Prints one
# line per round and side: medians of 3 repetitions.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OLD="${OLD:?set OLD to the commit to compare with}"
OLD_DIR="${OLD_DIR:-/tmp/gs-burst-old}"
ROUNDS="${1:-3}"
cd "$ROOT"

flags=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DGS_BUILD_BENCH=ON -DGS_BUILD_TESTS=OFF -DGS_BUILD_EXAMPLES=OFF
       -DGS_BUILD_VIEWER=OFF)
if [ ! -d "$OLD_DIR" ]; then git worktree add -f "$OLD_DIR" "$OLD" >&2; fi
git -C "$OLD_DIR" checkout -q --detach "$OLD"
cp bench/runtime_bench.cpp "$OLD_DIR/bench/runtime_bench.cpp"
for dir in "$OLD_DIR" "$ROOT"; do
  cmake -S "$dir" -B "$dir/build-bench" "${flags[@]}" >&2
  ninja -C "$dir/build-bench" gs_bench >&2
done

run() {  # run SIDE BINARY
  local out
  out=$("$2" --benchmark_filter='BM_SpawnJoin|BM_Live100k|BM_SpawnBurst' --benchmark_repetitions=3 \
    --benchmark_report_aggregates_only=true 2>/dev/null)
  printf '%s spawn+join %s | 100k live %s | burst %s | first burst %s\n' "$1" \
    "$(grep 'BM_SpawnJoin_median' <<<"$out" | grep -o 'ns_per_op=[0-9.]*[a-z]*')" \
    "$(grep 'BM_Live100k' <<<"$out" | head -1 | grep -o 'rss_MiB=[0-9.]*\|ns_per_greenlet=[0-9.]*[a-z]*' | tr '\n' ' ')" \
    "$(grep 'BM_SpawnBurst/iterations:1_median' <<<"$out" | grep -o 'ns_per_greenlet=[0-9.]*[a-z]*')" \
    "$(grep 'BM_SpawnBurstFirst.*_median' <<<"$out" | grep -o 'ns_per_greenlet=[0-9.]*[a-z]*')"
}
for r in $(seq "$ROUNDS"); do
  run "round $r old ($OLD)" "$OLD_DIR/build-bench/bench/gs_bench"
  run "round $r new" "$ROOT/build-bench/bench/gs_bench"
done
