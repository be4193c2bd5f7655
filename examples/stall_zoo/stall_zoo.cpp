// stall_zoo: one of each kind of non-cooperative code that freezes a hub's
// thread, among greenlets that cooperate, for sample traces (traces/) and
// for trying `greenscope stalls` and greenscope-viewer on each kind:
//
//   - a CPU-bound loop in a greenlet (render_report: never yields)
//   - a blocking call nobody patched (legacy_rate_limit: clock_nanosleep,
//     which patch_all() does not make cooperative)
//   - a std::mutex held by another OS thread (shared_cache_lookup)
//   - a slow run_callback() callback (flush_metrics)
//   - a thread-pool job that does not stall anyone (checksum in a worker)
//   - a run-info dump (gs::dump_run_info) while workers wait on a Queue
//   - with --crash, a greenlet that dereferences null at the end
//
// Ten "ticker" greenlets sleep 2 ms and bump a counter in a loop; during a
// stall none of them runs, which the timeline shows as a gap in every row.
//
//   stall_zoo [--rounds N] [--crash]
#include <time.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "greenscope/runtime.h"
#include "greenscope/stacks.h"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

volatile double g_sink = 0;  // keeps the CPU-bound loops from being optimized away

// render_report() is the CPU-bound bug: about `d` of floating-point work
// with no yield in it.
[[gnu::noinline]] void render_report(std::chrono::milliseconds d) {
  const auto end = Clock::now() + d;
  double x = 1;
  while (Clock::now() < end)
    for (int i = 0; i < 10'000; ++i) x = std::sqrt(x + i);
  g_sink = x;
}

// legacy_rate_limit() blocks the thread in a syscall patch_all() leaves
// alone, as a vendored library's own sleep would.
[[gnu::noinline]] void legacy_rate_limit(std::chrono::milliseconds d) {
  timespec ts{0, static_cast<long>(std::chrono::nanoseconds(d).count())};
  while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR) {
  }
}

std::mutex g_cache_mutex;

// shared_cache_lookup() takes a mutex that an OS thread holds for a while:
// the hub's thread waits in the kernel (futex) with every greenlet on it.
[[gnu::noinline]] void shared_cache_lookup() {
  const std::lock_guard lock(g_cache_mutex);
  g_sink = g_sink + 1;
}

// hold_cache_from_thread() starts an OS thread that holds the cache's mutex
// for `d`, and returns once it holds it.
std::thread hold_cache_from_thread(std::chrono::milliseconds d) {
  std::atomic<bool> held{false};
  std::thread t([d, &held] {
    const std::lock_guard lock(g_cache_mutex);
    held = true;
    std::this_thread::sleep_for(d);
  });
  while (!held) std::this_thread::yield();
  return t;
}

[[gnu::noinline]] void flush_metrics() { render_report(25ms); }

// parse_header() is where --crash crashes.
[[gnu::noinline]] void parse_header(const char* p) { std::printf("%c\n", *p); }

struct Options {
  int rounds = 2;
  bool crash = false;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
      o.rounds = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--crash") == 0) {
      o.crash = true;
    } else {
      std::fprintf(stderr, "usage: %s [--rounds N] [--crash]\n", argv[0]);
      std::exit(2);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  gs::patch_all();
  bool stop = false;
  long ticks = 0;
  std::vector<gs::GreenletRef> tickers;
  for (int i = 0; i < 10; ++i) {
    auto g = gs::spawn([&] {
      while (!stop) {
        gs::sleep(2ms);
        ++ticks;
      }
    });
    g.set_name("ticker-" + std::to_string(i));
    tickers.push_back(g);
  }
  gs::Queue<int> jobs;
  std::vector<gs::GreenletRef> consumers;
  for (int i = 0; i < 3; ++i) {
    auto g = gs::spawn([&jobs] {
      for (int j = jobs.get(); j >= 0; j = jobs.get()) gs::sleep(std::chrono::milliseconds(j));
    });
    g.set_name("consumer-" + std::to_string(i));
    consumers.push_back(g);
  }

  const auto run_named = [](const char* name, auto fn) {
    auto g = gs::spawn(fn);
    g.set_name(name);
    g.join();
  };
  for (int round = 0; round < o.rounds; ++round) {
    gs::sleep(20ms);
    run_named("report", [] { render_report(60ms); });
    gs::sleep(20ms);
    run_named("rate-limited", [] { legacy_rate_limit(40ms); });
    gs::sleep(20ms);
    std::thread holder = hold_cache_from_thread(30ms);
    run_named("cache-user", [] { shared_cache_lookup(); });
    holder.join();
    gs::sleep(20ms);
    gs::run_callback([] { flush_metrics(); });
    gs::sleep(20ms);
    run_named("checksummer", [] {
      const double sum = gs::run_in_thread([] {
        double s = 0;
        for (int i = 1; i < 2'000'000; ++i) s += 1.0 / i;
        return s;
      });
      g_sink = sum;
    });
    for (int j = 0; j < 6; ++j) jobs.put(j % 3 + 1);
    gs::sleep(10ms);
    if (round == 0) gs::dump_run_info("api");
  }
  for (std::size_t i = 0; i < consumers.size(); ++i) jobs.put(-1);
  gs::joinall(consumers);
  stop = true;
  gs::joinall(tickers);
  std::printf("stall_zoo: %d rounds, %ld ticks\n", o.rounds, ticks);
  if (o.crash) run_named("parser", [] { parse_header(static_cast<const char*>(std::getenv("GS_NO_SUCH_VAR"))); });
  return 0;
}
