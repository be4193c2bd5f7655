// trace_bench.cpp: what tracing (greenscope::tracer) costs the runtime.
// bench/trace_compare.sh builds it in Release, runs it and prints the ratios
// (docs/benchmarks.md, "Tracing overhead").
//
// Every timed benchmark sets a per-operation counter built as
//   benchmark::Counter(ops, kIsRate | kInvert)
// i.e. CPU seconds per operation, as bench/runtime_bench.cpp does.
//
// Benchmarks:
//   BM_YieldPingPong/NoObserver      two greenlets each gs::yield() 10,000
//                                    times; no observer installed (the
//                                    hooks' pointer is null)
//   BM_YieldPingPong/TracingStopped  the same after one gs::trace::start() +
//                                    stop(): the tracer is linked and loaded
//                                    but off (the observer pointer is null)
//   BM_YieldPingPong/NullObserver    an Observer that overrides nothing is
//                                    installed: the hooks' virtual calls alone
//   BM_YieldPingPong/TracingOn       gs::trace::start() into a file under /tmp
//                                    (deleted afterwards); the trace is read
//                                    back with traceio to count the switches
//                                    and events the loop made
//   BM_WaitStack/WaitStacksOff       a greenlet waits on an Event from a call
//   BM_WaitStack/WaitStacksOn          chain 20 frames deep, another sets it and
//                                    yields; tracing on, without and with wait
//                                    stacks (16 frames): the difference per
//                                    wait (ns_per_wait) is what a wait stack
//                                    costs (capture, table lookup, event)
//   BM_CaptureStack/Depth16          gs::capture_stack() of 16 frames called
//                                    straight from the same chain's bottom:
//                                    the unwinding alone, with only its own
//                                    frame above the user's (a hook's capture
//                                    also walks the runtime's and tracer's)
//   BM_YieldPingPong/TracingOnDefaults  TracingOn with default Options: the
//                                    stall monitor runs too (every other
//                                    tracing benchmark turns it off, to
//                                    measure the tracer alone)
//   BM_Rdtsc, BM_ClockMonotonic      the tracer's two possible clocks
//   BM_WriterThroughput/threads:N    N threads, each with its own hub and a
//                                    yield ping-pong as fast as it goes, for
//                                    3 s (GS_TRACE_BENCH_WRITER_SECONDS) with
//                                    tracing on (default Options: 64 MiB of
//                                    buffers); reports what the file holds,
//                                    the drops, and the writer thread's CPU
//                                    time per event
//
// Every ping-pong reports ns_per_yield and ns_per_switch. A yield is two
// one-way switches (greenlet -> hub, hub -> other greenlet); TracingOn checks
// that against the trace (switches_per_yield).
//
// Two more modes, for the script:
//   gs_trace_bench --pingpong off|stopped|null|on YIELDS
//       runs the ping-pong once for YIELDS yields per greenlet; under
//       callgrind (--collect-atstart=no) only that loop is counted.
//   gs_trace_bench --stats FILE
//       reads a trace with traceio and prints "key=value" counters.
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <greenscope/runtime.h>
#include <greenscope/stacks.h>
#include <greenscope/tracer.h>
#include <greenscope/traceio.h>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define GS_TOGGLE_COLLECT() CALLGRIND_TOGGLE_COLLECT
#else
#define GS_TOGGLE_COLLECT() \
  do {                      \
  } while (0)
#endif

namespace {

namespace tio = gs::traceio;

// load_and_remove() reads a benchmark's trace and deletes the file; null
// (and the benchmark skipped with the reason) if it cannot be read.
std::unique_ptr<tio::Trace> load_and_remove(const std::string& path, benchmark::State& state) {
  tio::LoadResult loaded = tio::load(path);
  std::remove(path.c_str());
  if (!loaded.trace) state.SkipWithError(("cannot read the trace: " + loaded.error).c_str());
  return std::move(loaded.trace);
}

benchmark::Counter per_op(double ops) {
  return benchmark::Counter(ops, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// temp_trace_path() is a fresh file name under /tmp for one session.
std::string temp_trace_path() {
  static int n = 0;
  return "/tmp/gs_trace_bench-" + std::to_string(::getpid()) + "-" + std::to_string(++n) + ".gstrace";
}

bool start_tracing(const std::string& path, std::string* error, bool wait_stacks = true) {
  gs::trace::Options options;
  options.path = path;
  options.wait_stacks = wait_stacks;
  options.stall_monitor = false;  // its per-switch stamps are not the tracer's cost
  return gs::trace::start(options, error);
}

// ---------------------------------------------------------------------------
// The yield ping-pong of bench/runtime_bench.cpp.
constexpr int kYieldsPerGreenlet = 10000;

void yielder(int n) {
  for (int i = 0; i < n; ++i) gs::yield();
}

void pingpong(int yields_per_greenlet) {
  std::vector<gs::GreenletRef> pair;
  pair.push_back(gs::spawn(&yielder, yields_per_greenlet));
  pair.push_back(gs::spawn(&yielder, yields_per_greenlet));
  gs::joinall(pair);
}

void report_pingpong(benchmark::State& state) {
  const double yields = 2.0 * kYieldsPerGreenlet * static_cast<double>(state.iterations());
  state.SetItemsProcessed(static_cast<std::int64_t>(yields));
  state.counters["ns_per_yield"] = per_op(yields);
  state.counters["ns_per_switch"] = per_op(2 * yields);
}

void timed_pingpong(benchmark::State& state) {
  for (auto _ : state) pingpong(kYieldsPerGreenlet);
  report_pingpong(state);
}

// NullObserver overrides nothing: every hook is a virtual call to an empty
// function.
class NullObserver final : public gs::Observer {};

void BM_YieldPingPong_NoObserver(benchmark::State& state) {
  if (gs::observer() != nullptr) {
    state.SkipWithError("an observer is installed");
    return;
  }
  timed_pingpong(state);
}

void BM_YieldPingPong_TracingStopped(benchmark::State& state) {
  const std::string path = temp_trace_path();
  std::string error;
  if (!start_tracing(path, &error)) {
    state.SkipWithError(error.c_str());
    return;
  }
  pingpong(100);  // the tracer sees this thread and its hub
  gs::trace::stop();
  std::remove(path.c_str());
  if (gs::observer() != nullptr) {
    state.SkipWithError("an observer is still installed after gs::trace::stop()");
    return;
  }
  timed_pingpong(state);
}

void BM_YieldPingPong_NullObserver(benchmark::State& state) {
  static NullObserver null_observer;
  gs::set_observer(&null_observer);
  timed_pingpong(state);
  gs::set_observer(nullptr);
}

void BM_YieldPingPong_TracingOn(benchmark::State& state) {
  const std::string path = temp_trace_path();
  std::string error;
  if (!start_tracing(path, &error)) {
    state.SkipWithError(error.c_str());
    return;
  }
  for (auto _ : state) pingpong(kYieldsPerGreenlet);
  const gs::trace::Stats stats = gs::trace::stop();
  report_pingpong(state);
  const double yields = 2.0 * kYieldsPerGreenlet * static_cast<double>(state.iterations());
  const std::unique_ptr<tio::Trace> trace = load_and_remove(path, state);
  if (!trace) return;
  const tio::FileStats& fs = trace->stats();
  const auto sw = static_cast<std::size_t>(tio::EventType::Switch);
  state.counters["switches_per_yield"] = static_cast<double>(fs.count[sw]) / yields;
  state.counters["events_per_yield"] = static_cast<double>(fs.events) / yields;
  state.counters["bytes_per_switch"] =
      fs.count[sw] ? static_cast<double>(fs.encoded_bytes[sw]) / static_cast<double>(fs.count[sw]) : 0;
  state.counters["dropped"] = static_cast<double>(stats.dropped);
}

BENCHMARK(BM_YieldPingPong_NoObserver)->Name("BM_YieldPingPong/NoObserver");
BENCHMARK(BM_YieldPingPong_TracingStopped)->Name("BM_YieldPingPong/TracingStopped");
BENCHMARK(BM_YieldPingPong_NullObserver)->Name("BM_YieldPingPong/NullObserver");
BENCHMARK(BM_YieldPingPong_TracingOn)->Name("BM_YieldPingPong/TracingOn");

void BM_YieldPingPong_TracingOnDefaults(benchmark::State& state) {
  const std::string path = temp_trace_path();
  std::string error;
  if (!gs::trace::start({.path = path}, &error)) {
    state.SkipWithError(error.c_str());
    return;
  }
  timed_pingpong(state);
  gs::trace::stop();
  std::remove(path.c_str());
}
BENCHMARK(BM_YieldPingPong_TracingOnDefaults)->Name("BM_YieldPingPong/TracingOnDefaults");

// ---------------------------------------------------------------------------
// What a wait stack adds to a suspension.
constexpr int kWaitsPerRun = 10000;
constexpr int kChainDepth = 20;  // deeper than the 16 frames kept

// wait_at_depth() waits `depth` calls down. The barrier after the call keeps
// it from being a tail call, so every level is a frame of its own.
[[gnu::noinline]] void wait_at_depth(int depth, gs::Event& e) {
  if (depth > 0) {
    wait_at_depth(depth - 1, e);
  } else {
    e.wait();
    e.clear();
  }
  asm volatile("" ::: "memory");
}

// event_pingpong() makes `waits` Event waits: the waiter suspends once per
// round (reason Event: a wait stack), the setter only yields (none).
void event_pingpong(int waits) {
  gs::Event e;
  auto waiter = gs::spawn([&] {
    for (int i = 0; i < waits; ++i) wait_at_depth(kChainDepth, e);
  });
  auto setter = gs::spawn([&] {
    for (int i = 0; i < waits; ++i) {
      e.set();
      gs::yield();
    }
  });
  waiter.join();
  setter.join();
}

void BM_WaitStack(benchmark::State& state, bool wait_stacks) {
  const std::string path = temp_trace_path();
  std::string error;
  if (!start_tracing(path, &error, wait_stacks)) {
    state.SkipWithError(error.c_str());
    return;
  }
  event_pingpong(1000);  // warm: the site's stack is in the table and the thread's cache
  for (auto _ : state) event_pingpong(kWaitsPerRun);
  const gs::trace::Stats stats = gs::trace::stop();
  const double waits = static_cast<double>(kWaitsPerRun) * static_cast<double>(state.iterations());
  state.counters["ns_per_wait"] = per_op(waits);
  const std::unique_ptr<tio::Trace> trace = load_and_remove(path, state);
  if (!trace) return;
  const tio::FileStats& fs = trace->stats();
  const auto ws = static_cast<std::size_t>(tio::EventType::WaitStack);
  // About 1 with wait stacks (the joins add a few), 0 without.
  state.counters["wait_stacks_per_wait"] = static_cast<double>(fs.count[ws]) / (waits + 1000);
  state.counters["stacks"] = static_cast<double>(trace->stacks().size());
  state.counters["dropped"] = static_cast<double>(stats.dropped);
}
BENCHMARK_CAPTURE(BM_WaitStack, WaitStacksOff, false)->Name("BM_WaitStack/WaitStacksOff");
BENCHMARK_CAPTURE(BM_WaitStack, WaitStacksOn, true)->Name("BM_WaitStack/WaitStacksOn");

// capture_at_depth() times `n` captures of 16 frames `depth` calls down.
[[gnu::noinline]] void capture_at_depth(int depth, benchmark::State& state) {
  if (depth > 0) {
    capture_at_depth(depth - 1, state);
  } else {
    std::uintptr_t frames[16];
    for (auto _ : state) benchmark::DoNotOptimize(gs::capture_stack(frames, 16));
  }
  asm volatile("" ::: "memory");
}

void BM_CaptureStack(benchmark::State& state) {
  auto g = gs::spawn([&] { capture_at_depth(kChainDepth, state); });  // on a greenlet's stack, as a wait is
  g.join();
  state.counters["ns_per_capture"] = per_op(static_cast<double>(state.iterations()));
}
BENCHMARK(BM_CaptureStack)->Name("BM_CaptureStack/Depth16");

// ---------------------------------------------------------------------------
// The clocks a trace event can be stamped with.
void BM_Rdtsc(benchmark::State& state) {
  std::uint64_t sum = 0;
  for (auto _ : state) sum += __rdtsc();
  benchmark::DoNotOptimize(sum);
  state.counters["ns_per_read"] = per_op(static_cast<double>(state.iterations()));
}
BENCHMARK(BM_Rdtsc);

void BM_ClockMonotonic(benchmark::State& state) {
  timespec ts;
  for (auto _ : state) {
    clock_gettime(CLOCK_MONOTONIC, &ts);
    benchmark::DoNotOptimize(ts);
  }
  state.counters["ns_per_read"] = per_op(static_cast<double>(state.iterations()));
}
BENCHMARK(BM_ClockMonotonic);

// ---------------------------------------------------------------------------
// The writer's sustained rate: N producer threads, each with its own hub,
// run a yield ping-pong for writer_seconds() with tracing on.
// GS_TRACE_BENCH_WRITER_SECONDS overrides the default 3 s.
double writer_seconds() {
  const char* env = std::getenv("GS_TRACE_BENCH_WRITER_SECONDS");
  const double s = env != nullptr ? std::atof(env) : 0.0;
  return s > 0 ? s : 3.0;
}

double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double process_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

void BM_WriterThroughput(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const std::string path = temp_trace_path();
  std::uint64_t yields = 0;
  double seconds = 0, producer_cpu = 0, process_cpu = 0, main_cpu = 0;
  gs::trace::Stats stats;
  for (auto _ : state) {
    std::string error;
    if (!start_tracing(path, &error)) {
      state.SkipWithError(error.c_str());
      return;
    }
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> total_yields{0};
    std::vector<double> cpu(static_cast<std::size_t>(threads), 0.0);
    const double process_before = process_cpu_seconds();
    const double main_before = thread_cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> producers;
    for (int t = 0; t < threads; ++t) {
      producers.emplace_back([&, t] {
        const double before = thread_cpu_seconds();
        std::uint64_t n = 0;
        auto body = [&stop, &n] {
          while (!stop.load(std::memory_order_relaxed)) {
            gs::yield();
            ++n;
          }
        };
        std::vector<gs::GreenletRef> pair{gs::spawn(body), gs::spawn(body)};
        gs::joinall(pair);
        total_yields.fetch_add(n);
        cpu[static_cast<std::size_t>(t)] = thread_cpu_seconds() - before;
      });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(writer_seconds()));
    stop.store(true);
    for (auto& p : producers) p.join();
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    stats = gs::trace::stop();  // ships the rest: the writer's CPU time includes it
    process_cpu = process_cpu_seconds() - process_before;
    main_cpu = thread_cpu_seconds() - main_before;
    producer_cpu = 0;
    for (double c : cpu) producer_cpu += c;
    yields = total_yields.load();
    state.SetIterationTime(seconds);
  }
  const std::unique_ptr<tio::Trace> trace = load_and_remove(path, state);
  if (!trace) return;
  const tio::FileStats& fs = trace->stats();
  const auto sw = static_cast<std::size_t>(tio::EventType::Switch);
  const double events = static_cast<double>(fs.events - fs.count[static_cast<std::size_t>(tio::EventType::Dropped)]);
  const double dropped = static_cast<double>(fs.dropped);
  // The writer thread (and the session's start/stop) is what the process
  // spent beyond the producers and the sleeping main thread.
  const double writer_cpu = process_cpu - producer_cpu - main_cpu;
  state.counters["seconds"] = seconds;
  state.counters["yields_per_sec"] = static_cast<double>(yields) / seconds;
  state.counters["events"] = events;
  state.counters["events_per_sec"] = events / seconds;
  state.counters["dropped"] = dropped;
  state.counters["dropped_pct"] = events + dropped > 0 ? 100.0 * dropped / (events + dropped) : 0;
  state.counters["session_events"] = static_cast<double>(stats.events);
  state.counters["session_dropped"] = static_cast<double>(stats.dropped);
  state.counters["switch_events"] = static_cast<double>(fs.count[sw]);
  state.counters["bytes_per_event"] = events > 0 ? static_cast<double>(fs.event_bytes) / events : 0;
  state.counters["bytes_per_switch"] =
      fs.count[sw] ? static_cast<double>(fs.encoded_bytes[sw]) / static_cast<double>(fs.count[sw]) : 0;
  state.counters["file_bytes_per_event"] = events > 0 ? static_cast<double>(fs.file_bytes) / events : 0;
  state.counters["file_MiB_per_sec"] = static_cast<double>(fs.file_bytes) / seconds / (1024.0 * 1024.0);
  state.counters["producer_cpu_pct"] = 100.0 * producer_cpu / seconds;
  state.counters["writer_cpu_pct"] = 100.0 * writer_cpu / seconds;
  state.counters["writer_ns_per_event"] = events > 0 ? 1e9 * writer_cpu / events : 0;
  // What the writer could sustain if it had a core to itself.
  state.counters["writer_capacity_events_per_sec"] = writer_cpu > 0 ? events / writer_cpu : 0;
  state.counters["problems"] = static_cast<double>(trace->problems().size());
  state.counters["clean_end"] = fs.clean_end ? 1 : 0;
}
BENCHMARK(BM_WriterThroughput)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------------------
// --pingpong MODE YIELDS: one ping-pong, counted by callgrind.
[[gnu::noinline]] void measured_pingpong(int yields) {
  GS_TOGGLE_COLLECT();
  pingpong(yields);
  GS_TOGGLE_COLLECT();
}

int run_pingpong_mode(const std::string& mode, int yields) {
  static NullObserver null_observer;
  const std::string path = temp_trace_path();
  std::string error;
  if (mode == "stopped" || mode == "on") {
    if (!start_tracing(path, &error)) {
      std::fprintf(stderr, "gs_trace_bench: %s\n", error.c_str());
      return 1;
    }
    if (mode == "stopped") {
      pingpong(100);
      gs::trace::stop();
    }
  } else if (mode == "null") {
    gs::set_observer(&null_observer);
  } else if (mode != "off") {
    std::fprintf(stderr, "gs_trace_bench: --pingpong takes off, stopped, null or on\n");
    return 2;
  }
  pingpong(1000);  // warm: stacks cached, the thread's trace stream and blocks in place
  measured_pingpong(yields);
  gs::set_observer(nullptr);
  const gs::trace::Stats stats = gs::trace::stop();
  std::printf("mode=%s yields=%d events=%llu dropped=%llu\n", mode.c_str(), 2 * yields,
              static_cast<unsigned long long>(stats.events), static_cast<unsigned long long>(stats.dropped));
  std::remove(path.c_str());
  return 0;
}

// --stats FILE: a trace's counters, one "key=value" per field.
int run_stats_mode(const std::string& path) {
  tio::LoadResult loaded = tio::load(path);
  if (!loaded.trace) {
    std::fprintf(stderr, "gs_trace_bench: %s\n", loaded.error.c_str());
    return 1;
  }
  const tio::FileStats& fs = loaded.trace->stats();
  std::printf("file_bytes=%llu events=%llu event_bytes=%llu dropped=%llu clean_end=%d problems=%zu",
              static_cast<unsigned long long>(fs.file_bytes), static_cast<unsigned long long>(fs.events),
              static_cast<unsigned long long>(fs.event_bytes), static_cast<unsigned long long>(fs.dropped),
              fs.clean_end ? 1 : 0, loaded.trace->problems().size());
  for (std::size_t t = 0; t < tio::kEventTypeCount; ++t) {
    if (fs.count[t] == 0) continue;
    std::printf(" count.%s=%llu bytes.%s=%llu", std::string(tio::to_string(static_cast<tio::EventType>(t))).c_str(),
                static_cast<unsigned long long>(fs.count[t]),
                std::string(tio::to_string(static_cast<tio::EventType>(t))).c_str(),
                static_cast<unsigned long long>(fs.encoded_bytes[t]));
  }
  std::printf("\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "--pingpong") == 0) return run_pingpong_mode(argv[2], std::atoi(argv[3]));
  if (argc == 3 && std::strcmp(argv[1], "--stats") == 0) return run_stats_mode(argv[2]);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
