// runtime_bench.cpp: Google Benchmark programs for the runtime's hot paths.
//
// Every benchmark sets a per-operation counter built as
//   benchmark::Counter(ops, kIsRate | kInvert)
// i.e. CPU seconds per operation: the console shows it with an SI prefix
// ("ns_per_op=42.1n" is 42.1 ns), the JSON output holds it in seconds.
// bench/compare.sh reads those counters and puts them next to gevent's
// numbers (bench/gevent_bench.py runs the same workloads).
//
// Operations counted:
//   BM_RawFcontextSwitch  one one-way jump_fcontext (a round trip is 2)
//   BM_YieldPingPong      one gs::yield() = greenlet -> hub -> other greenlet
//   BM_SpawnJoin          one greenlet spawned, run to its end and joined
//   BM_EventSetWake       one Event::set() waking the waiting greenlet
//   BM_QueuePutGet        one item through a Queue<int>(1) (every item is a
//                         hand-off between producer and consumer)
//   BM_QueuePutGetBatched one item through an unbounded Queue<int> (the
//                         producer runs ahead, the consumer drains)
//   BM_SpawnBurst         one of 200,000 greenlets spawned at once, each
//                         running until it blocks on one shared Event
//                         before any is woken (a server taking a burst of
//                         connections), then woken and joined
//   BM_Live100k           100,000 greenlets blocked at once on one Event;
//                         reports the RSS they add (rss_MiB)
#include <benchmark/benchmark.h>

#include <boost/context/detail/fcontext.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <greenscope/runtime.h>

#include "hub_impl.h"  // private: SwitchPathProbe, for BM_SwitchPath only

namespace {

namespace ctx = boost::context::detail;

// per_op() is the counter "CPU time / ops": seconds per operation.
benchmark::Counter per_op(double ops) {
  return benchmark::Counter(ops, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void report(benchmark::State& state, std::int64_t ops_per_iteration, const char* name = "ns_per_op") {
  const double ops = static_cast<double>(ops_per_iteration) * static_cast<double>(state.iterations());
  state.SetItemsProcessed(static_cast<std::int64_t>(ops));
  state.counters[name] = per_op(ops);
}

// ---------------------------------------------------------------------------
// The floor: a bare Boost.Context ping-pong, no runtime involved.
void fcontext_partner(ctx::transfer_t t) {
  for (;;) t = ctx::jump_fcontext(t.fctx, nullptr);
}

void BM_RawFcontextSwitch(benchmark::State& state) {
  constexpr std::size_t kStack = 64 * 1024;
  std::unique_ptr<char[]> stack(new char[kStack]);
  ctx::fcontext_t partner = ctx::make_fcontext(stack.get() + kStack, kStack, &fcontext_partner);
  partner = ctx::jump_fcontext(partner, nullptr).fctx;  // start it: it is now parked in its loop
  for (auto _ : state) {
    // One iteration = one round trip = exactly two one-way switches.
    partner = ctx::jump_fcontext(partner, nullptr).fctx;
  }
  // The partner stays parked forever; its stack holds nothing to unwind.
  report(state, 2, "ns_per_switch");
}
BENCHMARK(BM_RawFcontextSwitch);

// The same raw ping-pong, but each side switches through a function that
// returns, as any scheduler's switch function must. jump_fcontext ends in an
// indirect jmp, so the return that follows lands on the other stack and the
// CPU's return-stack buffer mispredicts it; BM_RawFcontextSwitch's loops
// never return and never pay that.
[[gnu::noinline]] ctx::fcontext_t raw_switch_through_call(ctx::fcontext_t to) {
  ctx::fcontext_t from = ctx::jump_fcontext(to, nullptr).fctx;
  benchmark::ClobberMemory();
  return from;
}

void fcontext_partner_through_call(ctx::transfer_t t) {
  ctx::fcontext_t other = t.fctx;
  for (;;) other = raw_switch_through_call(other);
}

void BM_RawFcontextSwitchThroughCall(benchmark::State& state) {
  constexpr std::size_t kStack = 64 * 1024;
  std::unique_ptr<char[]> stack(new char[kStack]);
  ctx::fcontext_t partner = ctx::make_fcontext(stack.get() + kStack, kStack, &fcontext_partner_through_call);
  partner = ctx::jump_fcontext(partner, nullptr).fctx;
  for (auto _ : state) partner = raw_switch_through_call(partner);
  report(state, 2, "ns_per_switch");
}
BENCHMARK(BM_RawFcontextSwitchThroughCall);

// ---------------------------------------------------------------------------
// The runtime's switch path alone: HubImpl::switch_to() (observer branch,
// stack canary, C++ exception-state swap, current greenlet, jump_fcontext)
// ping-ponging between main and one greenlet, without the scheduler.
void BM_SwitchPath(benchmark::State& state) {
  using gs::detail::GreenletBase;
  using gs::detail::SwitchPathProbe;
  GreenletBase& main_greenlet = *gs::detail::HubImpl::current().running();
  bool stop = false;
  auto partner = gs::spawn([&] {
    GreenletBase& self = *gs::detail::HubImpl::current().running();
    while (!stop) SwitchPathProbe::switch_to(self, main_greenlet);
  });
  // main is queued by the yield; the partner starts and switches straight
  // back to main, which carries on as if the yield had returned.
  gs::yield();
  for (auto _ : state) {
    // One iteration = one round trip = exactly two one-way switches.
    SwitchPathProbe::switch_to(main_greenlet, *partner.base());
  }
  // The partner leaves its loop and dies; the hub then resumes main from the
  // queue entry its yield left, as the scheduler always would.
  stop = true;
  SwitchPathProbe::switch_to(main_greenlet, *partner.base());
  partner.join();
  report(state, 2, "ns_per_switch");
}
BENCHMARK(BM_SwitchPath);

// ---------------------------------------------------------------------------
// Two greenlets yielding to each other through the hub. 2 x 10,000 yields per
// iteration, so the two spawns and the join are < 0.1% of the time.
constexpr int kYieldsPerGreenlet = 10000;

void yielder(int n) {
  for (int i = 0; i < n; ++i) gs::yield();
}

void BM_YieldPingPong(benchmark::State& state) {
  for (auto _ : state) {
    std::vector<gs::GreenletRef> pair;
    pair.push_back(gs::spawn(&yielder, kYieldsPerGreenlet));
    pair.push_back(gs::spawn(&yielder, kYieldsPerGreenlet));
    gs::joinall(pair);
  }
  report(state, 2 * kYieldsPerGreenlet);
}
BENCHMARK(BM_YieldPingPong);

// ---------------------------------------------------------------------------
// Spawn 1,000 greenlets that do nothing, then joinall: per greenlet.
constexpr int kSpawnBatch = 1000;

void BM_SpawnJoin(benchmark::State& state) {
  std::vector<gs::GreenletRef> batch;
  batch.reserve(kSpawnBatch);
  for (auto _ : state) {
    batch.clear();
    for (int i = 0; i < kSpawnBatch; ++i) batch.push_back(gs::spawn([] {}));
    gs::joinall(batch);
  }
  report(state, kSpawnBatch);
}
BENCHMARK(BM_SpawnJoin);

// ---------------------------------------------------------------------------
// One waiter, one setter: set() wakes the waiter, the setter yields so it
// runs, the waiter clears and waits again, the setter resumes. Per cycle.
constexpr int kEventCycles = 10000;

void BM_EventSetWake(benchmark::State& state) {
  gs::Event event;
  for (auto _ : state) {
    auto waiter = gs::spawn([&event] {
      for (int i = 0; i < kEventCycles; ++i) {
        event.wait();
        event.clear();
      }
    });
    auto setter = gs::spawn([&event] {
      for (int i = 0; i < kEventCycles; ++i) {
        event.set();
        gs::yield();
      }
    });
    gs::joinall(std::vector<gs::GreenletRef>{waiter, setter});
  }
  report(state, kEventCycles);
}
BENCHMARK(BM_EventSetWake);

// ---------------------------------------------------------------------------
// Producer -> consumer through a Queue<int>. With maxsize 1 every item makes
// the producer wait for the consumer: a true hand-off per item.
constexpr int kQueueItems = 10000;

void run_queue(benchmark::State& state, std::size_t maxsize) {
  gs::Queue<int> queue(maxsize);
  std::int64_t sum = 0;
  for (auto _ : state) {
    auto consumer = gs::spawn([&queue, &sum] {
      for (int i = 0; i < kQueueItems; ++i) sum += queue.get();
    });
    auto producer = gs::spawn([&queue] {
      for (int i = 0; i < kQueueItems; ++i) queue.put(i);
    });
    gs::joinall(std::vector<gs::GreenletRef>{consumer, producer});
  }
  benchmark::DoNotOptimize(sum);
  report(state, kQueueItems);
}

void BM_QueuePutGet(benchmark::State& state) { run_queue(state, 1); }
BENCHMARK(BM_QueuePutGet);

void BM_QueuePutGetBatched(benchmark::State& state) { run_queue(state, 0); }
BENCHMARK(BM_QueuePutGetBatched);

// ---------------------------------------------------------------------------
// 100,000 greenlets alive at once, each blocked on one shared Event.

// status_kib() reads a "Key:   123 kB" line of /proc/self/status.
long status_kib(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::size_t len = std::strlen(key);
  while (std::getline(in, line)) {
    if (line.compare(0, len, key) == 0 && line.size() > len && line[len] == ':') {
      return std::strtol(line.c_str() + len + 1, nullptr, 10);
    }
  }
  return -1;
}

constexpr int kLive = 100000;

void BM_Live100k(benchmark::State& state) {
  double rss_mib = 0, rss_total_mib = 0, hwm_mib = 0;
  int blocked = 0;
  for (auto _ : state) {
    gs::Event event;
    std::vector<gs::GreenletRef> live;
    live.reserve(kLive);
    const long rss_before = status_kib("VmRSS");
    for (int i = 0; i < kLive; ++i) live.push_back(gs::spawn([&event] { event.wait(); }));
    gs::yield();  // main goes behind all 100k: each runs until it blocks
    const long rss_after = status_kib("VmRSS");
    const long hwm = status_kib("VmHWM");
    blocked = 0;
    for (const auto& g : live) blocked += g.state() == gs::GreenletState::Waiting ? 1 : 0;
    event.set();
    gs::joinall(live);
    rss_mib = static_cast<double>(rss_after - rss_before) / 1024.0;
    rss_total_mib = static_cast<double>(rss_after) / 1024.0;
    hwm_mib = static_cast<double>(hwm) / 1024.0;
  }
  if (blocked != kLive) {
    state.SkipWithError("not every greenlet was blocked on the Event when RSS was read");
    return;
  }
  state.counters["rss_MiB"] = rss_mib;              // RSS added by the 100k live greenlets
  state.counters["rss_total_MiB"] = rss_total_mib;  // the process's RSS with them alive
  state.counters["hwm_MiB"] = hwm_mib;              // VmHWM (peak RSS so far)
  state.counters["KiB_per_greenlet"] = rss_mib * 1024.0 / kLive;
  state.counters["live"] = blocked;
  // spawn + first run until blocked + wake + join, per greenlet
  report(state, kLive, "ns_per_greenlet");
}
// Registered before the bursts: they leave the main hub 200,000 warm stacks
// (kept while the program might want them), which would serve these 100,000
// and hide the memory they take.
BENCHMARK(BM_Live100k)->Iterations(1)->Repetitions(1)->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------------------
// A burst: 200,000 greenlets spawned and all alive, each run until it blocks
// on one shared Event, before any is woken; then woken and joined. Every
// greenlet holds its own stack at once, so the stack cache cannot serve
// them: this is what mapping, guarding and first-touching stacks cost.
constexpr int kBurst = 200000;

// run_burst() is one burst; returns how many were blocked before the set().
int run_burst(std::vector<gs::GreenletRef>& burst) {
  gs::Event event;
  int waiting = 0;  // counted as gevent_bench.py counts
  burst.clear();
  for (int i = 0; i < kBurst; ++i) {
    burst.push_back(gs::spawn([&event, &waiting] {
      ++waiting;
      event.wait();
    }));
  }
  gs::yield();  // main goes behind all of them: each runs until it blocks
  const int blocked = waiting;
  event.set();
  gs::joinall(burst);
  return blocked;
}

// BM_SpawnBurst: a burst after an unmeasured one on the same hub (the
// stacks it freed are still warm, as for a server's second burst, and as
// gevent_bench.py measures after a warm-up run).
void BM_SpawnBurst(benchmark::State& state) {
  std::vector<gs::GreenletRef> burst;
  burst.reserve(kBurst);
  int blocked = run_burst(burst);
  for (auto _ : state) blocked = run_burst(burst);
  if (blocked != kBurst) {
    state.SkipWithError("not every greenlet of the burst was blocked before the Event was set");
    return;
  }
  report(state, kBurst, "ns_per_greenlet");
}
BENCHMARK(BM_SpawnBurst)->Iterations(1)->Unit(benchmark::kMillisecond);

// BM_SpawnBurstFirst: the first burst of a hub, on a new thread: every
// stack is mapped, guarded and its first page faulted in.
void BM_SpawnBurstFirst(benchmark::State& state) {
  int blocked = 0;
  for (auto _ : state) {
    std::thread t([&blocked] {
      std::vector<gs::GreenletRef> burst;
      burst.reserve(kBurst);
      blocked = run_burst(burst);
    });
    t.join();
  }
  if (blocked != kBurst) {
    state.SkipWithError("not every greenlet of the burst was blocked before the Event was set");
    return;
  }
  report(state, kBurst, "ns_per_greenlet");
}
BENCHMARK(BM_SpawnBurstFirst)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
