#!/usr/bin/env bash
# io_compare.sh: the I/O benchmarks. Builds (Release, its own build dir) the
# echo servers, the load client and gs_io_bench; runs the closed-loop echo
# benchmark against three servers (plain libev in C, greenscope's
# examples/echo_server, gevent's StreamServer), ROUNDS rounds, each round
# running the three servers one after the other (order rotated per round);
# runs gs_io_bench (read() of 64 bytes on a readable fd: glibc's read vs the
# runtime's interposed read, pass-through and patched); prints markdown
# tables with the ratios and the targets.
#
#   bash bench/io_compare.sh
#
# Environment: BUILD_DIR (default build-iobench), BUILD_TYPE (default
# Release), ROUNDS (echo rounds, default 8), SECONDS_MEASURED (default 5),
# WARMUP (seconds not counted, default 2), CONNECTIONS (default 50),
# MSG_BYTES (default 64), MIN_TIME (seconds per Google Benchmark run,
# default 0.5), REPS (gs_io_bench repetitions, default 5; medians are
# reported), PIN (1: server on CPU 1, client on CPU 0; default unpinned:
# pinning did not make runs stabler), WAIT_QUIET (seconds to wait, before
# each echo run, for both cores to be >= 97% idle over 5 s; default 0:
# don't wait), PYTHON (default /usr/bin/python3, the interpreter
# python3-gevent is installed for).
#
# Every echo run also reports how much CPU other processes used during its
# measured window; a run where that exceeds 10% of one core is marked
# "disturbed" and left out (unless all of a server's runs are; then the
# output says its numbers are not reliable). The targets compare each
# server's best run (these VMs' kernel-entry cost flips between two levels
# every few seconds, which only ever slows a run down); per-round ratios and
# medians are printed as well.
#
# Takes about 5 minutes on 2 cores (plus the build the first time; longer
# with WAIT_QUIET); exits non-zero if any step fails (a missed target is
# reported, not an error).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-build-iobench}"
BUILD_TYPE="${BUILD_TYPE:-Release}"
ROUNDS="${ROUNDS:-8}"
SECONDS_MEASURED="${SECONDS_MEASURED:-5}"
WARMUP="${WARMUP:-2}"
CONNECTIONS="${CONNECTIONS:-50}"
MSG_BYTES="${MSG_BYTES:-64}"
MIN_TIME="${MIN_TIME:-0.5}"
REPS="${REPS:-5}"
PIN="${PIN:-0}"
WAIT_QUIET="${WAIT_QUIET:-0}"
PYTHON="${PYTHON:-/usr/bin/python3}"
cd "$ROOT"

# Examples on (examples/echo_server is the greenscope server), tests off.
# What is built: the commit, and whether runtime/ had uncommitted changes
# when the build started (read again at the end, in case they moved).
git_state() {
  local head dirty=""
  head="$(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  [ -n "$(git status --porcelain -- runtime 2>/dev/null)" ] && dirty=" + uncommitted changes in runtime/"
  echo "git $head$dirty"
}
GIT_AT_BUILD="$(git_state)"
echo "== configure + build ($BUILD_TYPE, $BUILD_DIR)" >&2
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" \
  -DGS_WARNINGS_AS_ERRORS=ON -DGS_BUILD_BENCH=ON -DGS_BUILD_TESTS=OFF -DGS_BUILD_EXAMPLES=ON >&2
ninja -C "$BUILD_DIR" gs_io_bench gs_echo_load_client gs_libev_echo_server echo_server >&2

IO_JSON="$BUILD_DIR/gs_io_bench.json"
ECHO_OUT="$BUILD_DIR/echo_bench.txt"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"

# --- echo benchmark -----------------------------------------------------------
echo "== echo benchmark: $ROUNDS rounds x 3 servers, $CONNECTIONS connections, $MSG_BYTES-byte messages, ${WARMUP}s warm-up + ${SECONDS_MEASURED}s" >&2
"$PYTHON" - "$BUILD_DIR" "$ROUNDS" "$SECONDS_MEASURED" "$WARMUP" "$CONNECTIONS" "$MSG_BYTES" "$PIN" "$PYTHON" \
  "$WAIT_QUIET" >"$ECHO_OUT" <<'EOF'
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, "bench/echo")  # run from the repository root
from echo_harness import start_server, stop_server, wait_until_quiet

build, rounds, seconds, warmup, conns, msg, pin, python, wait_quiet = sys.argv[1:10]
wait_quiet = float(wait_quiet)
rounds = int(rounds)
servers = [
    ("libev", [os.path.join(build, "bench/gs_libev_echo_server"), "--port", "0"]),
    ("greenscope", [os.path.join(build, "examples/echo_server/echo_server"), "--port", "0"]),
    ("greenscope-recv", [os.path.join(build, "examples/echo_server/echo_server"), "--port", "0", "--recv", "string"]),
    ("gevent", [python, "bench/echo/gevent_echo_server.py", "--port", "0"]),
]
client = os.path.join(build, "bench/gs_echo_load_client")
server_cpu, client_cpu = (["taskset", "-c", "1"], ["taskset", "-c", "0"]) if pin == "1" else ([], [])

def start(cmd):
    return start_server(server_cpu + cmd, cmd[0])

def stop(p):
    stop_server(p, timeout=5)

for r in range(1, rounds + 1):
    # The order rotates each round, so a drift of the machine's speed within
    # a round does not always favour the same server.
    k = (r - 1) % len(servers)
    for name, cmd in servers[k:] + servers[:k]:
        if wait_quiet > 0:
            wait_until_quiet(wait_quiet)
        p, host, port = start(cmd)
        try:
            out = subprocess.run(client_cpu + [client, host, port, conns, msg, seconds, warmup, str(p.pid)],
                                 capture_output=True, text=True, timeout=float(seconds) + float(warmup) + 30)
        finally:
            stop(p)
        if out.returncode != 0:
            sys.exit("load client against %s failed: %s" % (name, out.stderr.strip()))
        print("echo round=%d server=%s %s" % (r, name, out.stdout.strip()), flush=True)
        kv = dict(x.split("=", 1) for x in out.stdout.split())
        others = float(kv["system_busy_sec"]) - float(kv["server_cpu_sec"]) - float(kv["client_cpu_sec"])
        print("  round %d %-10s %s (other processes: %.0f%% of a core)" % (
            r, name, out.stdout.split()[0], max(0.0, 100 * others / float(kv["seconds"]))), file=sys.stderr)
        time.sleep(0.5)
EOF

# --- patched read cost ---------------------------------------------------------
echo "== run gs_io_bench (min_time ${MIN_TIME}s, $REPS repetitions, random interleaving)" >&2
"$BUILD_DIR/bench/gs_io_bench" --benchmark_format=json --benchmark_min_time="$MIN_TIME" \
  --benchmark_repetitions="$REPS" --benchmark_report_aggregates_only=true \
  --benchmark_enable_random_interleaving=true >"$IO_JSON"

LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
GIT_AT_END="$(git_state)"

echo "== results" >&2
"$PYTHON" - "$ECHO_OUT" "$IO_JSON" "$BUILD_TYPE" "$REPS" "$ROUNDS" "$SECONDS_MEASURED" "$WARMUP" "$CONNECTIONS" \
  "$MSG_BYTES" "$PIN" "$LOAD_BEFORE" "$LOAD_AFTER" "$PYTHON" "$GIT_AT_BUILD" "$GIT_AT_END" <<'EOF'
import json
import statistics
import subprocess
import sys

(echo_out, io_json, build_type, reps, rounds, seconds, warmup, conns, msg, pin,
 load_before, load_after, python, git_at_build, git_at_end) = sys.argv[1:16]

def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()

# --- echo results
runs = {}  # server -> list of dicts, in round order
with open(echo_out) as f:
    for line in f:
        parts = line.split()
        if parts[:1] != ["echo"]:
            continue
        kv = dict(p.split("=", 1) for p in parts[1:])
        runs.setdefault(kv["server"], []).append(kv)
order = ["libev", "greenscope", "greenscope-recv", "gevent"]
for s in order:
    if s not in runs:
        sys.exit("no echo results for %s in %s" % (s, echo_out))

with open(io_json) as f:
    doc = json.load(f)
io = {}
for b in doc["benchmarks"]:
    if b.get("error_occurred"):
        sys.exit("gs_io_bench: %s failed: %s" % (b["name"], b.get("error_message")))
    if b.get("run_type") == "aggregate" and b.get("aggregate_name") == "median":
        io[b["run_name"]] = b
    elif b.get("run_type") != "aggregate":
        io.setdefault(b["run_name"], b)

def ns(name, field="cpu_time"):
    key = "BM_Read/" + name
    if key not in io:
        sys.exit("gs_io_bench: no result for %s" % key)
    b = io[key]
    scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
    return b[field] * scale

ctx = doc.get("context", {})
cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-").strip()
gxx = sh("g++ --version | head -1")
libev = sh("dpkg-query -W -f='${Version}' libev-dev 2>/dev/null") or "?"
gevent_v = sh(python + " -c 'import gevent; print(gevent.__version__)'")
pyv = sh(python + " -c 'import platform; print(platform.python_version())'")

print("### Machine")
print()
print("- nproc: %s; CPU: %s (%s MHz as Google Benchmark saw it); kernel %s" % (
    sh("nproc"), cpu, ctx.get("mhz_per_cpu", "?"), sh("uname -r")))
print("- %s; libev %s; gevent %s (Python %s)" % (gxx, libev, gevent_v, pyv))
moved = "" if git_at_end == git_at_build else " (at the end of the run: %s; not in this build)" % git_at_end
print("- greenscope: %s when built%s, built %s by bench/io_compare.sh; libbenchmark's own build type: %s" % (
    git_at_build, moved, build_type, ctx.get("library_build_type", "?")))
print("- load average (1/5/15 min) before: %s, after: %s; client and server %s" % (
    load_before, load_after, "pinned (client CPU 0, server CPU 1)" if pin == "1" else "not pinned (they share both cores)"))
print()

print("### Echo: %s connections, %s-byte messages, closed loop, %s s measured after %s s warm-up" % (
    conns, msg, seconds, warmup))
print()
print("Round trips per second (client-side count); server and client CPU are")
print("each process's user+system CPU time over the measured window, in")
print("percent of one core; server us/rt is server CPU time per round trip;")
print("others is the CPU time all other processes used meanwhile (from")
print("/proc/stat). A run with others > 10 % of a core is marked disturbed.")
print()
print("| round | server | round trips/s | server CPU % | client CPU % | others % | server us/rt | per-connection min-max |")
print("|---:|---|---:|---:|---:|---:|---:|---|")
def others_pct(kv):
    o = float(kv["system_busy_sec"]) - float(kv["server_cpu_sec"]) - float(kv["client_cpu_sec"])
    return max(0.0, 100 * o / float(kv["seconds"]))
for r in range(int(rounds)):
    for s in order:
        kv = runs[s][r]
        secs = float(kv["seconds"])
        trips = int(kv["round_trips"])
        scpu = float(kv["server_cpu_sec"])
        print("| %d | %s | %.0f | %.0f | %.0f | %.0f%s | %.2f | %s-%s |" % (
            r + 1, s, float(kv["round_trips_per_sec"]), 100 * scpu / secs,
            100 * float(kv["client_cpu_sec"]) / secs, others_pct(kv),
            " (disturbed)" if others_pct(kv) > 10 else "", 1e6 * scpu / trips, kv["min_conn"], kv["max_conn"]))
print()

def rts(kv):
    return float(kv["round_trips_per_sec"])

def us_per_rt(kv):
    return 1e6 * float(kv["server_cpu_sec"]) / int(kv["round_trips"])

# Undisturbed runs only (others <= 10 % of a core), unless a server has
# none. The headline is each server's best run: on these VMs the cost of
# entering the kernel flips between two levels every few seconds, per vCPU
# (getppid() 165 vs 225 ns), which moves a run by up to 35 %; that noise
# only ever slows a run down, so the best of ROUNDS runs is each server in
# the fast state. Per-round ratios (runs a few seconds apart) and medians
# are printed too.
clean = {s: [kv for kv in runs[s] if others_pct(kv) <= 10] for s in order}
used = {s: clean[s] or runs[s] for s in order}
for s in order:
    if not clean[s]:
        print("**Every run of %s was disturbed: its numbers below are not reliable.**" % s)
        print()
best = {s: max(rts(kv) for kv in used[s]) for s in order}
best_us = {s: min(us_per_rt(kv) for kv in used[s]) for s in order}
print("| server | best round trips/s | median | min - max | runs used | lowest server us/rt |")
print("|---|---:|---:|---:|---:|---:|")
for s in order:
    v = [rts(kv) for kv in used[s]]
    print("| %s | **%.0f** | %.0f | %.0f - %.0f | %d of %d | %.2f |" % (
        s, best[s], statistics.median(v), min(v), max(v), len(used[s]), len(runs[s]), best_us[s]))
print()
clean_rounds = [r for r in range(int(rounds)) if all(others_pct(runs[s][r]) <= 10 for s in order)]
print("| ratio | best / best | per-round ratios (undisturbed rounds) | their median |")
print("|---|---:|---|---:|")
for label, x, y in (("greenscope / libev", "greenscope", "libev"), ("greenscope / gevent", "greenscope", "gevent"),
                    ("greenscope-recv / libev", "greenscope-recv", "libev"),
                    ("greenscope-recv / greenscope", "greenscope-recv", "greenscope"),
                    ("libev / gevent", "libev", "gevent")):
    per_round = [rts(runs[x][r]) / rts(runs[y][r]) for r in clean_rounds]
    fmt = (lambda v: "%.1f %%" % (100 * v)) if y in ("libev", "greenscope") else (lambda v: "%.2fx" % v)
    print("| %s | **%s** | %s | %s |" % (label, fmt(best[x] / best[y]), ", ".join(fmt(v) for v in per_round) or "-",
                                         fmt(statistics.median(per_round)) if per_round else "-"))
print()

print("### read() of 64 bytes on an already-readable fd")
print()
print("ns per read, median of %s repetitions (CPU time; real time in brackets);" % reps)
print("each ratio is against glibc's read on the same fd in the same run.")
print()
print("| fd | glibc read | syscall(SYS_read) | interposed, not patched | ratio | patched, in a greenlet | ratio | patched path's syscalls via libc | ratio |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
ratios = {}
for fd, label in (("socketpair", "socketpair (AF_UNIX stream)"), ("pipe", "pipe")):
    base = ns(fd + "_libc")
    cells = []
    for way in ("syscall", "passthrough", "patched", "patched_calls"):
        v = ns(fd + "_" + way)
        ratios[(fd, way)] = v / base
        cells.append((v, ns(fd + "_" + way, "real_time")))
    print("| %s | %.1f (%.1f) | %.1f (%.1f) | %.1f (%.1f) | %.2fx | %.1f (%.1f) | %.2fx | %.1f (%.1f) | %.2fx |" % (
        label, base, ns(fd + "_libc", "real_time"), cells[0][0], cells[0][1],
        cells[1][0], cells[1][1], ratios[(fd, "passthrough")],
        cells[2][0], cells[2][1], ratios[(fd, "patched")],
        cells[3][0], cells[3][1], ratios[(fd, "patched_calls")]))
print()
print("The last column is the system calls of the earlier patched path, made directly: recv(MSG_DONTWAIT) on a socket, poll(timeout 0) + read on a pipe (the patched path now reads a pipe with one preadv2(RWF_NOWAIT)).")
nowait = ns("pipe_preadv2_nowait")
print("For comparison, one preadv2(RWF_NOWAIT) on the pipe (a single-syscall non-blocking read) costs %.1f ns, %.2fx glibc's read." % (
    nowait, nowait / ns("pipe_libc")))
print()

def verdict(ok):
    return "PASS" if ok else "FAIL"
gs_vs_libev = best["greenscope"] / best["libev"]
gs_vs_gevent = best["greenscope"] / best["gevent"]
recv_vs_into = best["greenscope-recv"] / best["greenscope"]
targets = [
    ("echo: recv(65536) into a std::string >= 95% of recv_into() round trips/s (best runs)",
     "%.1f %%" % (100 * recv_vs_into), recv_vs_into >= 0.95),
    ("echo: greenscope >= 90% of plain libev round trips/s (best runs)",
     "%.1f %%" % (100 * gs_vs_libev), gs_vs_libev >= 0.9),
    ("echo: greenscope >= 2.4x gevent round trips/s (best runs)", "%.2fx" % gs_vs_gevent,
     gs_vs_gevent >= 2.4),
    ("patched read <= 1.3x libc's (socketpair)", "%.2fx" % ratios[("socketpair", "patched")],
     ratios[("socketpair", "patched")] <= 1.3),
    ("patched read <= 1.3x libc's (pipe)", "%.2fx" % ratios[("pipe", "patched")], ratios[("pipe", "patched")] <= 1.3),
]
print("### Targets")
print()
print("| target | measured | result |")
print("|---|---:|---|")
for name, measured, ok in targets:
    print("| %s | %s | %s |" % (name, measured, verdict(ok)))
EOF
