#!/usr/bin/python3
"""gevent_bench.py: the workloads of bench/runtime_bench.cpp, run in gevent.

Prints one machine-readable line per workload:

    gevent <name> <ns_per_op>

plus a leading "gevent version <version>" line. Each workload runs
--repeats times (default 3) and the median is printed; with --verbose every
run goes to stderr. Timing is wall clock (time.perf_counter) around the
workload only; the process does nothing else meanwhile.

Workloads (same structure as the C++ benchmarks):
  yield_pingpong       two greenlets each calling gevent.sleep(0) N times; per sleep(0)
  spawn_join           spawn 1,000 no-op greenlets, gevent.joinall; per greenlet
  event_set_wake       one greenlet waits on an Event, another set()s then sleep(0)s;
                       per set -> wake cycle
  queue_put_get        producer -> consumer through Queue(maxsize=1); per item
  queue_put_get_batched  the same through an unbounded Queue; per item
  spawn_burst          spawn 200,000 greenlets that each wait on one Event, sleep(0)
                       so all of them block, set the Event, joinall; per greenlet
  spawn_burst_first    the same, the process's first burst: run once, first of
                       all workloads, without a warm-up run
"""

import argparse
import statistics
import sys
import time

import gevent
from gevent.event import Event
from gevent.queue import Queue


def yield_pingpong(n):
    def yielder():
        for _ in range(n):
            gevent.sleep(0)

    t0 = time.perf_counter()
    gevent.joinall([gevent.spawn(yielder), gevent.spawn(yielder)])
    return time.perf_counter() - t0, 2 * n


def spawn_join(batches, batch=1000):
    def noop():
        pass

    t0 = time.perf_counter()
    for _ in range(batches):
        gevent.joinall([gevent.spawn(noop) for _ in range(batch)])
    return time.perf_counter() - t0, batches * batch


def event_set_wake(n):
    event = Event()

    def waiter():
        for _ in range(n):
            event.wait()
            event.clear()

    def setter():
        for _ in range(n):
            event.set()
            gevent.sleep(0)

    t0 = time.perf_counter()
    gevent.joinall([gevent.spawn(waiter), gevent.spawn(setter)])
    return time.perf_counter() - t0, n


def queue_put_get(n, maxsize=1):
    queue = Queue(maxsize) if maxsize else Queue()
    total = [0]

    def consumer():
        s = 0
        for _ in range(n):
            s += queue.get()
        total[0] = s

    def producer():
        for i in range(n):
            queue.put(i)

    t0 = time.perf_counter()
    gevent.joinall([gevent.spawn(consumer), gevent.spawn(producer)])
    elapsed = time.perf_counter() - t0
    assert total[0] == n * (n - 1) // 2
    return elapsed, n


def spawn_burst(n):
    event = Event()
    waiting = [0]

    def waiter():
        waiting[0] += 1
        event.wait()

    t0 = time.perf_counter()
    burst = [gevent.spawn(waiter) for _ in range(n)]
    gevent.sleep(0)
    blocked = waiting[0]
    event.set()
    gevent.joinall(burst)
    elapsed = time.perf_counter() - t0
    assert blocked == n, "only %d of %d greenlets were running when the Event was set" % (blocked, n)
    return elapsed, n


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply every workload's size (default 1.0, about 2 s in all)")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--only", metavar="NAME", help="run this workload alone (e.g. yield_pingpong)")
    args = parser.parse_args()

    def n(base):
        return max(1, int(base * args.scale))

    firsts = {"spawn_burst_first"}  # run once, before anything else warmed the heap
    workloads = [
        ("spawn_burst_first", lambda: spawn_burst(n(200_000))),
        ("yield_pingpong", lambda: yield_pingpong(n(100_000))),
        ("spawn_join", lambda: spawn_join(n(50))),
        ("event_set_wake", lambda: event_set_wake(n(50_000))),
        ("queue_put_get", lambda: queue_put_get(n(50_000), 1)),
        ("queue_put_get_batched", lambda: queue_put_get(n(200_000), 0)),
        ("spawn_burst", lambda: spawn_burst(n(200_000))),
    ]
    if args.only:
        workloads = [w for w in workloads if w[0] == args.only]
        if not workloads:
            sys.exit("gevent_bench.py: no workload '%s'" % args.only)
    print("gevent version %s" % gevent.__version__)
    for name, fn in workloads:
        if name not in firsts:
            fn()  # warm-up: first use creates the hub, fills free lists
        per_op = []
        for _ in range(1 if name in firsts else args.repeats):
            elapsed, ops = fn()
            per_op.append(elapsed * 1e9 / ops)
            if args.verbose:
                print("  %s: %d ops in %.3f s = %.1f ns/op" % (name, ops, elapsed, per_op[-1]),
                      file=sys.stderr)
        print("gevent %s %.1f" % (name, statistics.median(per_op)))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
