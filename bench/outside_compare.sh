#!/usr/bin/env bash
# outside_compare.sh: gs::yield() as a user's program gets it. Builds
# greenscope the way the README installs it (its own build dir, the
# project's default build type unless LIB_TYPE says otherwise), installs it
# into a prefix, builds bench/outside against that prefix with
# find_package(greenscope) in the program's own build (CONSUMER_TYPE), and
# runs it and gevent's yield_pingpong one after the other, ROUNDS rounds.
# Prints each round and the best-vs-best and median ratios.
#
#   bash bench/outside_compare.sh
#
# Environment: BUILD_DIR (default build-outside), LIB_TYPE (CMAKE_BUILD_TYPE
# of the installed library; default empty: the project's default),
# CONSUMER_TYPE (default RelWithDebInfo), ROUNDS (default 5), YIELDS (per
# greenlet per measurement, default 200000), PYTHON (default
# /usr/bin/python3, the interpreter python3-gevent is installed for).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-build-outside}"
LIB_TYPE="${LIB_TYPE:-}"
CONSUMER_TYPE="${CONSUMER_TYPE:-RelWithDebInfo}"
ROUNDS="${ROUNDS:-5}"
YIELDS="${YIELDS:-200000}"
PYTHON="${PYTHON:-/usr/bin/python3}"
cd "$ROOT"

mkdir -p "$BUILD_DIR"
BUILD_DIR="$(cd "$BUILD_DIR" && pwd)"
lib="$BUILD_DIR/lib" prefix="$BUILD_DIR/prefix" consumer="$BUILD_DIR/consumer"
type_arg=()
[ -n "$LIB_TYPE" ] && type_arg=("-DCMAKE_BUILD_TYPE=$LIB_TYPE")
echo "== build and install greenscope (${LIB_TYPE:-default build type}) into $prefix" >&2
cmake -S . -B "$lib" -G Ninja "${type_arg[@]}" -DGS_BUILD_TESTS=OFF -DGS_BUILD_BENCH=OFF \
  -DGS_BUILD_EXAMPLES=OFF -DGS_BUILD_VIEWER=OFF >&2
cmake --build "$lib" >&2
rm -rf "$prefix"
cmake --install "$lib" --prefix "$prefix" > /dev/null
echo "== build bench/outside against it ($CONSUMER_TYPE)" >&2
cmake -S bench/outside -B "$consumer" -G Ninja -DCMAKE_BUILD_TYPE="$CONSUMER_TYPE" \
  -DCMAKE_PREFIX_PATH="$prefix" >&2
cmake --build "$consumer" >&2
installed_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$lib/CMakeCache.txt")

echo "== $ROUNDS rounds: outside_yield, then gevent yield_pingpong" >&2
out="$BUILD_DIR/rounds.txt"
: > "$out"
for r in $(seq 1 "$ROUNDS"); do
  gs=$("$consumer/outside_yield" "$YIELDS" 7)
  ge=$("$PYTHON" bench/gevent_bench.py --only yield_pingpong --repeats 3 | awk '$2 == "yield_pingpong" {print $3}')
  echo "$r ${gs#yield_pingpong } $ge" | tee -a "$out" >&2
done

python3 - "$out" "$installed_type" "$CONSUMER_TYPE" <<'EOF'
import statistics
import sys

path, lib_type, consumer_type = sys.argv[1:4]
rows = [line.split() for line in open(path) if line.strip()]
best = [float(r[1]) for r in rows]      # each round's best of 7
median = [float(r[2]) for r in rows]    # each round's median of 7
gevent = [float(r[3]) for r in rows]    # each round's median of 3
print("gs::yield() from an outside program (library %s, program %s), %d rounds" % (lib_type, consumer_type, len(rows)))
print()
print("| round | greenscope best ns | greenscope median ns | gevent sleep(0) ns | gevent / greenscope (best) |")
print("|---|---|---|---|---|")
for i, r in enumerate(rows):
    print("| %s | %.1f | %.1f | %.0f | %.1fx |" % (r[0], best[i], median[i], gevent[i], gevent[i] / best[i]))
print()
print("best vs best: greenscope %.1f ns, gevent %.0f ns, %.1fx" % (min(best), min(gevent), min(gevent) / min(best)))
print("median of rounds: greenscope %.1f ns, gevent %.0f ns, %.1fx" % (
    statistics.median(median), statistics.median(gevent), statistics.median(gevent) / statistics.median(median)))
ok = min(best) <= 40 and min(gevent) / min(best) >= 35
print("target (<= 40 ns and >= 35x gevent, best vs best): %s" % ("met" if ok else "NOT met"))
EOF
