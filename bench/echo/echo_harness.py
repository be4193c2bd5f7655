"""echo_harness.py: what bench/io_compare.sh, bench/trace_compare.sh and
bench/monitor_compare.sh share to drive an echo server: start and stop it,
and wait for a quiet machine."""
import signal
import subprocess
import sys
import time


def start_server(cmd, name, env=None):
    """Starts an echo server that prints 'listening on HOST:PORT' first;
    returns (process, host, port)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    line = p.stdout.readline().strip()
    if not line.startswith("listening on "):
        p.kill()
        sys.exit("%s printed %r instead of 'listening on HOST:PORT'" % (name, line))
    host, port = line[len("listening on "):].rsplit(":", 1)
    return p, host, port


def stop_server(p, timeout=20):
    """Stops a server with SIGTERM (echo_server then exits cleanly, and a
    trace it writes is closed); False if it had to be killed."""
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return False


def cpu_ticks():
    """(total, idle + iowait) jiffies of all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return sum(v), v[3] + v[4]


def wait_until_quiet(wait_quiet):
    """Waits (up to wait_quiet s) for both cores to be >= 97% idle over 5 s."""
    deadline = time.monotonic() + wait_quiet
    while True:
        t1, i1 = cpu_ticks()
        time.sleep(5)
        t2, i2 = cpu_ticks()
        idle = (i2 - i1) / max(1, t2 - t1)
        if idle >= 0.97:
            return
        if time.monotonic() >= deadline:
            print("  machine still busy (%.0f%% idle) after %.0f s; running anyway" % (100 * idle, wait_quiet),
                  file=sys.stderr)
            return
