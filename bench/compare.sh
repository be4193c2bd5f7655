#!/usr/bin/env bash
# compare.sh: build gs_bench (Release, its own build dir), run it and
# bench/gevent_bench.py, and print a markdown comparison: greenscope vs
# gevent per workload, the yield() switch vs a raw Boost.Context switch,
# memory for 100,000 live greenlets, and the spec's performance targets.
#
#   bash bench/compare.sh
#
# Environment: BUILD_DIR (default build-bench), BUILD_TYPE (default Release),
# MIN_TIME (seconds per Google Benchmark run, default 0.5), REPS (repetitions
# on both sides, default 3; medians are reported), PYTHON (default
# /usr/bin/python3, the interpreter python3-gevent is installed for).
# Takes about a minute on 2 cores; exits non-zero if any step fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-build-bench}"
BUILD_TYPE="${BUILD_TYPE:-Release}"
MIN_TIME="${MIN_TIME:-0.5}"
REPS="${REPS:-3}"
PYTHON="${PYTHON:-/usr/bin/python3}"
cd "$ROOT"

echo "== configure + build gs_bench ($BUILD_TYPE, $BUILD_DIR)" >&2
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" \
  -DGS_WARNINGS_AS_ERRORS=ON -DGS_BUILD_BENCH=ON -DGS_BUILD_TESTS=OFF -DGS_BUILD_EXAMPLES=OFF >&2
ninja -C "$BUILD_DIR" gs_bench >&2

GS_JSON="$BUILD_DIR/gs_bench.json"
GEVENT_OUT="$BUILD_DIR/gevent_bench.txt"

echo "== run gs_bench (min_time ${MIN_TIME}s, $REPS repetitions)" >&2
"$BUILD_DIR/bench/gs_bench" --benchmark_format=json --benchmark_min_time="$MIN_TIME" \
  --benchmark_repetitions="$REPS" --benchmark_report_aggregates_only=true >"$GS_JSON"

echo "== run gevent_bench.py ($PYTHON, $REPS repetitions)" >&2
"$PYTHON" bench/gevent_bench.py --repeats "$REPS" >"$GEVENT_OUT"

echo "== results" >&2
python3 - "$GS_JSON" "$GEVENT_OUT" "$REPS" "$BUILD_TYPE" <<'EOF'
import json
import re
import subprocess
import sys

gs_json, gevent_out, reps, build_type = sys.argv[1:5]

with open(gs_json) as f:
    doc = json.load(f)

# run_name -> the entry to use: the median aggregate when repeated, else the
# single run (BM_Live100k runs once by design).
runs = {}
for b in doc["benchmarks"]:
    if b.get("error_occurred"):
        sys.exit("gs_bench: %s failed: %s" % (b["name"], b.get("error_message")))
    base = b["run_name"].split("/")[0]
    if b.get("run_type") == "aggregate":
        if b.get("aggregate_name") == "median":
            runs[base] = b
    else:
        runs.setdefault(base, b)

def gs(name, counter="ns_per_op"):
    try:
        return runs[name][counter] * (1e9 if counter.startswith("ns_") else 1)
    except KeyError:
        sys.exit("gs_bench: no %s for %s in %s" % (counter, name, gs_json))

gevent = {}
gevent_version = "?"
with open(gevent_out) as f:
    for line in f:
        parts = line.split()
        if parts[:2] == ["gevent", "version"]:
            gevent_version = parts[2]
        elif len(parts) == 3 and parts[0] == "gevent":
            gevent[parts[1]] = float(parts[2])

def ge(name):
    if name not in gevent:
        sys.exit("gevent_bench.py printed no result for %s" % name)
    return gevent[name]

def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()

cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-").strip()
gxx = sh("g++ --version | head -1")
boost = sh("grep -m1 '#define BOOST_LIB_VERSION' /usr/include/boost/version.hpp | cut -d'\"' -f2").replace("_", ".")
ctx = doc.get("context", {})

print("### Machine")
print()
print("- nproc: %s; CPU: %s (%s MHz as Google Benchmark saw it)" % (sh("nproc"), cpu, ctx.get("mhz_per_cpu", "?")))
print("- %s; Boost %s; gevent %s (Python %s)" % (gxx, boost, gevent_version, sh("/usr/bin/python3 -c 'import platform; print(platform.python_version())'")))
head = sh("git rev-parse --short HEAD") or "?"
dirty = " + uncommitted changes in runtime/" if sh("git status --porcelain -- runtime") else ""
print("- greenscope: git %s%s, built %s by bench/compare.sh; libbenchmark's own build type: %s" % (
    head, dirty, build_type, ctx.get("library_build_type", "?")))
print("- medians of %s repetitions on both sides; greenscope times are CPU time per op, gevent's wall time per op" % reps)
print()

pairs = [
    ("yield() ping-pong, per yield", "BM_YieldPingPong", "yield_pingpong"),
    ("spawn + join, per greenlet (batches of 1,000)", "BM_SpawnJoin", "spawn_join"),
    ("Event set -> wake, per cycle", "BM_EventSetWake", "event_set_wake"),
    ("Queue(maxsize=1) put -> get, per item", "BM_QueuePutGet", "queue_put_get"),
    ("Queue(unbounded) put -> get, per item", "BM_QueuePutGetBatched", "queue_put_get_batched"),
    ("burst: 200,000 greenlets alive at once, per greenlet (a burst after a first one)", "BM_SpawnBurst", "spawn_burst"),
    ("burst: the first one of a hub / of the process, per greenlet", "BM_SpawnBurstFirst", "spawn_burst_first"),
]
print("### greenscope vs gevent")
print()
print("| workload | greenscope ns/op | gevent ns/op | ratio (gevent/greenscope) |")
print("|---|---:|---:|---:|")
ratios = {}
for label, gname, pname in pairs:
    a, b = gs(gname, "ns_per_greenlet" if gname.startswith("BM_SpawnBurst") else "ns_per_op"), ge(pname)
    ratios[gname] = b / a
    print("| %s | %.1f | %.1f | %.1fx |" % (label, a, b, b / a))
print()

raw = gs("BM_RawFcontextSwitch", "ns_per_switch")
path = gs("BM_SwitchPath", "ns_per_switch")
rawcall = gs("BM_RawFcontextSwitchThroughCall", "ns_per_switch")
yld = gs("BM_YieldPingPong")
print("### Switch cost vs the raw Boost.Context floor")
print()
print("The switch path (BM_SwitchPath) is HubImpl::switch_to(): observer branch, stack")
print("canary, C++ exception-state swap, current greenlet, jump_fcontext; one one-way")
print("switch is compared with one raw one-way jump_fcontext. A yield() adds the")
print("scheduler: two one-way switches (greenlet -> hub, hub -> next greenlet) plus the")
print("ready-queue work and state changes. The bare floor loops on jump_fcontext and")
print("never returns; a switch function must return after the jump, onto the other")
print("stack, which the CPU's return-stack buffer always mispredicts (jump_fcontext ends")
print("in an indirect jmp). BM_RawFcontextSwitchThroughCall is the same bare jump made")
print("through a function that returns: the like-for-like floor.")
print()
print("| bare jump_fcontext loop ns | bare jump through a call ns | switch path ns | path / bare loop | path / bare through call | yield() ns | yield() / 2 ns |")
print("|---:|---:|---:|---:|---:|---:|---:|")
print("| %.2f | %.2f | %.2f | %.2fx | %.2fx | %.1f | %.1f |" % (raw, rawcall, path, path / raw, path / rawcall, yld, yld / 2))
print()

live = runs.get("BM_Live100k")
if live is None:
    sys.exit("gs_bench: no BM_Live100k result")
rss = live["rss_MiB"]
print("### 100,000 live greenlets (each blocked on one shared Event)")
print()
print("| RSS added (MiB) | KiB per greenlet | process RSS (MiB) | VmHWM (MiB) | spawn+block+wake+join per greenlet (ns) |")
print("|---:|---:|---:|---:|---:|")
print("| %.1f | %.2f | %.1f | %.1f | %.0f |" % (rss, live["KiB_per_greenlet"], live["rss_total_MiB"],
                                            live["hwm_MiB"], live["ns_per_greenlet"] * 1e9))
print()

spawn = gs("BM_SpawnJoin")
def verdict(ok):
    return "PASS" if ok else "FAIL"
targets = [
    ("yield() switch <= 50 ns", "%.1f ns" % yld, yld <= 50),
    ("spawn+join <= 1 us per greenlet", "%.1f ns" % spawn, spawn <= 1000),
    ("yield() >= 30x faster than gevent", "%.1fx" % ratios["BM_YieldPingPong"], ratios["BM_YieldPingPong"] >= 30),
    ("spawn+join >= 30x faster than gevent", "%.1fx" % ratios["BM_SpawnJoin"], ratios["BM_SpawnJoin"] >= 30),
    ("burst of 200,000 live greenlets <= 500 ns per greenlet", "%.1f ns" % gs("BM_SpawnBurst", "ns_per_greenlet"),
     gs("BM_SpawnBurst", "ns_per_greenlet") <= 500),
    ("burst of 200,000 live greenlets >= 30x faster than gevent", "%.1fx" % ratios["BM_SpawnBurst"],
     ratios["BM_SpawnBurst"] >= 30),
    ("100,000 live greenlets <= 1 GiB RSS", "%.1f MiB added (%.1f MiB process)" % (rss, live["rss_total_MiB"]),
     live["rss_total_MiB"] <= 1024),
    ("switch path within 2x of a raw Boost.Context switch (bare loop)", "%.2fx" % (path / raw), path / raw <= 2),
    ("switch path within 2x of a raw Boost.Context switch (through a call)", "%.2fx" % (path / rawcall), path / rawcall <= 2),
]
print("### Targets")
print()
print("| target | measured | result |")
print("|---|---:|---|")
for name, measured, ok in targets:
    print("| %s | %s | %s |" % (name, measured, verdict(ok)))
EOF
