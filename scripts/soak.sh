#!/usr/bin/env bash
# soak.sh: what the runtime and tracer hold up to over time (issue 15,
# docs/reliability.md). Needs the release build (scripts/passes.sh's
# `build`, with GS_BUILD_BENCH=ON). Phases, each printing its figures:
#
#   bash scripts/soak.sh echo MINUTES     the echo server under sustained
#       load, traced to a file with the stall monitor on: server RSS every
#       10 s (first and last 5 minutes' means), client errors, the trace's
#       problems (greenscope info --strict), and its connection greenlets'
#       runs against the client's round trips.
#   bash scripts/soak.sh signals N        the echo server under load while
#       N flight-recorder dumps, N run-info dumps and (in a second run) N
#       tracing toggles arrive by signal, 20 ms apart: the client must see
#       no error, every file written must read with no problem
#       (SOAK_SIGNAL_MODES="flight" or "toggle" runs one of the two).
#   bash scripts/soak.sh churn MINUTES    100,000 live greenlets spawning
#       and exiting without end (gs_soak_churn): RSS and mappings every 10 s.
#
# Output goes to stdout and to soak-<phase>.log in $SOAK_DIR (default a new
# temporary directory, kept).
set -euo pipefail
cd "$(dirname "$0")/.."
phase=${1:?usage: soak.sh echo MINUTES | signals N | churn MINUTES}
amount=${2:?usage: soak.sh echo MINUTES | signals N | churn MINUTES}
bin=build
dir=${SOAK_DIR:-$(mktemp -d /tmp/gs-soak.XXXXXX)}
mkdir -p "$dir"
log=$dir/soak-$phase.log
exec > >(tee "$log") 2>&1
echo "soak $phase $amount: $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), files in $dir"

server_pid=
start_server() {  # start_server ENV...: the echo server on a free port, traced as ENV says
  env "$@" GREENSCOPE_TRACE_QUIET=1 "$bin/examples/echo_server/echo_server" --port 0 > "$dir/server.out" 2> "$dir/server.err" &
  server_pid=$!
  for _ in $(seq 100); do grep -q listening "$dir/server.out" 2>/dev/null && break; sleep 0.1; done
  port=$(sed -n 's/.*listening on .*:\([0-9]*\).*/\1/p' "$dir/server.out")
  [ -n "$port" ] || { echo "soak: the echo server did not start"; cat "$dir/server.err"; exit 1; }
}

stop_server() {
  kill -INT "$server_pid"
  wait "$server_pid" && echo "server exited 0" || echo "server exit status $?"
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

check_trace() {  # check_trace FILE: reads with no problem
  if "$bin/tracer/cli/greenscope" info --strict "$1" > "$1.info" 2>&1; then echo "ok"; else echo "PROBLEM: $(tail -3 "$1.info")"; fi
}

case $phase in
  echo)
    seconds=$((amount * 60))
    trace=$dir/echo.gstrace
    start_server GREENSCOPE_TRACE="$trace" GREENSCOPE_STALL_MS=10
    "$bin/bench/gs_echo_load_client" 127.0.0.1 "$port" 8 64 "$seconds" 0 "$server_pid" > "$dir/client.out" 2>&1 &
    client=$!
    : > "$dir/rss.txt"
    for ((t = 0; t < seconds; t += 10)); do echo "$t $(rss_kib "$server_pid")" >> "$dir/rss.txt"; sleep 10; done
    wait "$client" && echo "client exited 0" || echo "CLIENT FAILED ($?)"
    stop_server
    cat "$dir/client.out"
    awk -v end="$seconds" '$1 < 300 {a += $2; n++} $1 >= end - 300 {b += $2; m++}
      END {printf "server RSS: first 5 min mean %.0f KiB, last 5 min mean %.0f KiB\n", a / n, b / m}' "$dir/rss.txt"
    echo "trace $(du -h "$trace" | cut -f1): $(check_trace "$trace")"
    runs=$("$bin/tracer/cli/greenscope" report "$trace" 2>/dev/null | awk '/StreamServer connection/ {s += $11} END {print s}')
    echo "connection greenlets' runs in the trace: $runs; client round trips: $(sed -n 's/.*round_trips=\([0-9]*\).*/\1/p' "$dir/client.out")"
    ;;
  signals)
    for mode in ${SOAK_SIGNAL_MODES:-flight toggle}; do
      rm -f "$dir"/sig*.gstrace
      if [ $mode = flight ]; then
        start_server GREENSCOPE_TRACE="$dir/sig.gstrace" GREENSCOPE_TRACE_FLIGHT_MIB=1 \
          GREENSCOPE_TRACE_DUMP_SIGNAL=SIGUSR2 GREENSCOPE_DUMP_SIGNAL=SIGUSR1 GREENSCOPE_STALL_MS=10
        signals="USR2 USR1"
      else
        start_server GREENSCOPE_TRACE="$dir/sig.gstrace" GREENSCOPE_TRACE_SIGNAL=SIGUSR2 GREENSCOPE_STALL_MS=10
        signals="USR2"
      fi
      "$bin/bench/gs_echo_load_client" 127.0.0.1 "$port" 8 64 3600 0 > "$dir/client.out" 2>&1 &
      client=$!
      sleep 1
      for ((i = 0; i < amount; i++)); do
        for s in $signals; do kill -"$s" "$server_pid"; done
        sleep 0.02
      done
      sleep 2
      kill -0 "$client" 2>/dev/null && echo "$mode: client still running, no error" || { echo "$mode: CLIENT FAILED"; cat "$dir/client.out"; }
      kill -TERM "$client" 2>/dev/null; wait "$client" 2>/dev/null || true  # (a background job ignores SIGINT)
      stop_server
      files=0 bad=0
      for f in "$dir"/sig*.gstrace; do
        case $f in *.info) continue ;; esac
        files=$((files + 1))
        r=$(check_trace "$f")
        [ "$r" = ok ] || { bad=$((bad + 1)); echo "$f: $r"; }
        rm -f "$f" "$f.info"
      done
      dumps=$(grep -c "greenscope run info" "$dir/server.err" || true)
      echo "$mode: $amount x {$signals}: $files trace files, $bad with problems; run-info dumps printed: $dumps; server RSS at the end was not kept"
    done
    ;;
  churn)
    "$bin/bench/gs_soak_churn" $((amount * 60))
    ;;
  *) echo "soak.sh: no phase '$phase' (echo, signals, churn)"; exit 2 ;;
esac
