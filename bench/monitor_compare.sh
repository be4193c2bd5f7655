#!/usr/bin/env bash
# monitor_compare.sh: what the stall monitor costs the echo server. Paired
# rounds of examples/echo_server with the monitor off and on
# (GREENSCOPE_STALL_MS=10, no tracing), alternating which goes first, then
# the same under callgrind for the server's instructions per round trip,
# which does not depend on how busy the machine is.
#   bash bench/monitor_compare.sh            (build dir: build-bench, Release)
# The server runs pinned to CPU 0 and the client to CPU 1 (taskset).
# Environment: ROUNDS (6), SECONDS_MEASURED (5), WARMUP (1), CONNECTIONS (16),
#   MSG_BYTES (64), WAIT_QUIET (60: seconds to wait for an idle machine),
#   CG_SECONDS (4), BUILD_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-bench}
ROUNDS=${ROUNDS:-6}
SECONDS_MEASURED=${SECONDS_MEASURED:-5}
WARMUP=${WARMUP:-1}
CONNECTIONS=${CONNECTIONS:-16}
MSG_BYTES=${MSG_BYTES:-64}
WAIT_QUIET=${WAIT_QUIET:-60}
CG_SECONDS=${CG_SECONDS:-4}

cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGS_BUILD_TESTS=OFF -DGS_BUILD_EXAMPLES=ON -DGS_BUILD_BENCH=ON >/dev/null
cmake --build "$BUILD_DIR" --target echo_server gs_echo_load_client >/dev/null

python3 - "$BUILD_DIR" "$ROUNDS" "$SECONDS_MEASURED" "$WARMUP" "$CONNECTIONS" "$MSG_BYTES" "$WAIT_QUIET" \
  "$CG_SECONDS" <<'EOF'
import glob
import os
import signal
import statistics
import subprocess
import sys

sys.path.insert(0, "bench/echo")
from echo_harness import start_server, stop_server, wait_until_quiet

build, rounds, seconds, warmup, conns, msg, wait_quiet, cg_seconds = sys.argv[1:9]
# Server on CPU 0 (its monitor thread too: the worst case, sharing the hub's
# core), load client on CPU 1. Unpinned, the two land on one core in some
# rounds and not in others, and rates jump between ~130k and ~180k/s.
server = ["taskset", "-c", "0", os.path.join(build, "examples/echo_server/echo_server"), "--port", "0"]
client_cmd = ["taskset", "-c", "1", os.path.join(build, "bench/gs_echo_load_client")]
cg_server = server[3:]
client = os.path.join(build, "bench/gs_echo_load_client")
base = {k: v for k, v in os.environ.items() if not k.startswith("GREENSCOPE_")}

def env_for(mode):
    env = dict(base)
    if mode == "on":
        env["GREENSCOPE_STALL_MS"] = "10"
    return env

def round_trips_per_sec(mode):
    p, host, port = start_server(server, "echo_server", env_for(mode))
    try:
        out = subprocess.run(client_cmd + [host, port, conns, msg, seconds, warmup, str(p.pid)],
                             capture_output=True, text=True, timeout=float(seconds) + float(warmup) + 30)
    finally:
        stop_server(p)
    if out.returncode != 0:
        sys.exit("load client failed (monitor %s): %s" % (mode, out.stderr.strip()))
    kv = dict(x.split("=", 1) for x in out.stdout.split())
    return float(kv["round_trips_per_sec"])

rate = {"off": [], "on": []}
for r in range(int(rounds)):
    for mode in (["off", "on"] if r % 2 == 0 else ["on", "off"]):
        if float(wait_quiet) > 0:
            wait_until_quiet(float(wait_quiet))
        rate[mode].append(round_trips_per_sec(mode))
        print("  round %d monitor %-3s %.0f round trips/s" % (r + 1, mode, rate[mode][-1]), file=sys.stderr)
ratios = [on / off for on, off in zip(rate["on"], rate["off"])]
print("echo, %s rounds x %ss, %s connections, %s-byte messages" % (rounds, seconds, conns, msg))
if ratios:  # ROUNDS=0: callgrind only
    print("  best   off %.0f  on %.0f round trips/s: on/off %.3f" % (max(rate["off"]), max(rate["on"]),
                                                                     max(rate["on"]) / max(rate["off"])))
    print("  median of paired per-round ratios on/off: %.3f (min %.3f, max %.3f)" % (
        statistics.median(ratios), min(ratios), max(ratios)))

def callgrind(mode):
    """Instructions per round trip of the hub's thread (thread 1), and of
    every other thread per second: the monitor's cost is time-driven, and
    callgrind's slow round trips would inflate it per round trip.
    The threshold is 1 s here: callgrind runs the server about 50 times
    slower, so 10 ms segments happen, and the sampling signals they bring
    kill callgrind 3.19 (threads.c:247 vgCallgrind_post_signal assertion).
    The stamps, which are what is counted, do not depend on the threshold."""
    out_file = "/tmp/gs-monitor-cg.%s.out" % mode
    for f in glob.glob(out_file + "*"):
        os.remove(f)
    env = env_for(mode)
    if mode == "on":
        env["GREENSCOPE_STALL_MS"] = "1000"
    p = subprocess.Popen(["valgrind", "--tool=callgrind", "--fair-sched=yes", "--separate-threads=yes",
                          "--callgrind-out-file=" + out_file]
                         + cg_server, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    line = p.stdout.readline().strip()
    host, port = line[len("listening on "):].rsplit(":", 1)
    r = subprocess.run([client, host, port, conns, msg, cg_seconds, "0"], capture_output=True, text=True,
                       timeout=float(cg_seconds) + 60)
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=60)
    kv = dict(x.split("=", 1) for x in r.stdout.split())
    hub, others = 0, 0
    for f in glob.glob(out_file + "*"):
        with open(f) as fh:
            ir = next((int(l.split()[1]) for l in fh if l.startswith("summary:") or l.startswith("totals:")), 0)
        if f.endswith("-01"):
            hub += ir
        else:
            others += ir
        os.remove(f)
    return hub / float(kv["round_trips"]), others / float(kv["seconds"])

if subprocess.run(["sh", "-c", "command -v valgrind"], capture_output=True).returncode == 0:
    (off, off_bg), (on, on_bg) = callgrind("off"), callgrind("on")
    print("  callgrind, the hub thread's instructions per round trip: off %.0f  on %.0f  (+%.1f, %+.2f%%)" % (
        off, on, on - off, 100 * (on - off) / off))
    print("  callgrind, other threads' instructions per second: off %.0f  on %.0f (threshold 1 s: the monitor wakes about once a second)"
          % (off_bg, on_bg))
EOF
