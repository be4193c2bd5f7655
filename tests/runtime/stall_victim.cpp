// stall_victim: programs for stall_process_test.cpp, which sets the
// environment (GREENSCOPE_STALL_MS, GREENSCOPE_STALL_PRINT,
// GREENSCOPE_DUMP_SIGNAL) before the runtime starts, as a user would.
//   stall_victim stalls N     N stalls of 15 ms, then stop_stall_monitor()
//   stall_victim hang         a greenlet waits in wait_here(); the main
//                             greenlet spins in spin_here_forever() until killed
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "greenscope/runtime.h"
#include "greenscope/stall.h"

namespace {

using Clock = std::chrono::steady_clock;

[[gnu::noinline]] void spin_here(std::chrono::milliseconds d) {
  const auto end = Clock::now() + d;
  while (Clock::now() < end) asm volatile("" ::: "memory");
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
  gs::get_hub();  // the hub (and with it the monitor) before the first spin
  gs::on_stall([&](const gs::StallReport&) { ++reported; });
  for (int i = 0; i < n; ++i) {
    spin_here(std::chrono::milliseconds(15));
    gs::sleep(std::chrono::milliseconds(5));
  }
  gs::sleep(std::chrono::milliseconds(20));
  gs::stop_stall_monitor();
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
