// stall_victim: programs for stall_process_test.cpp, which sets the
// environment (GREENSCOPE_STALL_MS, GREENSCOPE_STALL_PRINT,
// GREENSCOPE_DUMP_SIGNAL) before the runtime starts, as a user would.
//   stall_victim stalls N     N stalls of 15 ms or until sampled, then stop_stall_monitor()
//   stall_victim hang         a greenlet waits in wait_here(); the main
//                             greenlet spins in spin_here_forever() until killed
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "greenscope/observer.h"
#include "greenscope/runtime.h"
#include "greenscope/stall.h"

namespace {

using Clock = std::chrono::steady_clock;

// SampleCount counts the monitor's samples that caught a stack. A stall
// goes on until one did: on a loaded machine the monitor thread can be kept
// off the CPU for all of a fixed 15 ms, and the hub then reports the stall
// itself, with no stack to print.
class SampleCount : public gs::Observer {
 public:
  void on_stall_sample(const gs::StallReport&, const gs::StallSample& s) override {
    if (!s.stack.empty()) samples.fetch_add(1, std::memory_order_release);
  }
  std::atomic<int> samples{0};
};

// spin_here() spins for `d`, then on until `count` went past `seen` (given
// up after 10 s, so that a broken monitor fails the test, not hangs it).
[[gnu::noinline]] void spin_here(std::chrono::milliseconds d, const SampleCount* count = nullptr, int seen = 0) {
  const auto end = Clock::now() + d;
  while (Clock::now() < end) asm volatile("" ::: "memory");
  const auto give_up = end + std::chrono::seconds(10);
  while (count != nullptr && count->samples.load(std::memory_order_acquire) <= seen && Clock::now() < give_up)
    asm volatile("" ::: "memory");
}

// spin_here_forever() spins calling nothing, so that a sample always finds
// this frame on top: a sample that lands inside the clock's vDSO code (as
// spin_here's can) sometimes walks on without its callers (seen once in 20
// ASan runs: the dump showed hang() with no spin_here).
// Under TSan an asynchronous signal's handler runs only at the thread's next
// call that TSan intercepts, so that build's spin makes one (a malloc, pure
// user-space code that unwinds cleanly) every million turns, or the dump
// signal would never be handled.
[[noreturn, gnu::noinline]] void spin_here_forever() {
  for (;;) {
    for (int i = 0; i < 1'000'000; ++i) asm volatile("" ::: "memory");
#if defined(GS_SANITIZE_THREAD)
    void* volatile p = std::malloc(16);  // volatile: the pair must not be optimized away
    std::free(p);
#endif
  }
}

[[gnu::noinline]] void wait_here(gs::Event& e) {
  e.wait();
  asm volatile("" ::: "memory");
}

int stalls(int n) {
  // Count what the monitor reports: on a loaded machine preemption can add
  // a stall (the thread held by the kernel's scheduler counts, by wall clock).
  // Every report handed to the callback, ended or not, is also offered to the
  // rate-limited printer, so counting them all keeps printed + suppressed ==
  // reported. A stall still going when the monitor stops is handed over
  // unended: on a loaded machine, the main greenlet held up over 5 ms between
  // its last sleep and stop_stall_monitor(). Counting only ended reports then
  // made the printed "suppressed" count one more than reported - 5.
  std::atomic<int> reported{0};
  SampleCount count;
  gs::get_hub();  // the hub (and with it the monitor) before the first spin
  // With the monitor off (GREENSCOPE_STALL_MS=0) no sample ever comes: each
  // stall is then the fixed 15 ms, not 15 ms plus the 10 s give-up.
  const SampleCount* wait_for = gs::stall_monitor_running() ? &count : nullptr;
  gs::on_stall([&](const gs::StallReport&) { ++reported; });
  gs::set_observer(&count);
  for (int i = 0; i < n; ++i) {
    spin_here(std::chrono::milliseconds(15), wait_for, count.samples.load(std::memory_order_acquire));
    gs::sleep(std::chrono::milliseconds(5));
  }
  gs::sleep(std::chrono::milliseconds(20));
  gs::stop_stall_monitor();  // joins the monitor's threads: no observer call after it
  gs::set_observer(nullptr);
  gs::on_stall(nullptr);
  std::printf("stall_victim: %d stalls done, %d reported\n", n, reported.load());
  return 0;
}

int hang() {
  gs::Event e;
  auto g = gs::spawn([&] { wait_here(e); });
  g.set_name("patient");
  gs::sleep(std::chrono::milliseconds(5));
  std::printf("ready\n");
  std::fflush(stdout);
  spin_here_forever();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "stalls") == 0) return stalls(std::atoi(argv[2]));
  if (argc == 2 && std::strcmp(argv[1], "hang") == 0) return hang();
  std::fprintf(stderr, "usage: stall_victim stalls N | hang\n");
  return 2;
}
