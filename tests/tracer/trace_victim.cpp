// trace_victim: a program linked with the runtime only (no tracer code), for
// tests that trace it through the environment and kill it.
//   trace_victim loop        yields forever; prints "running" after 200 ms
//                            (and at least kMinYields yields of each spinner)
//   trace_victim exit N      runs briefly, then exits with status N
//   trace_victim crash       runs briefly, then dereferences null
//   trace_victim fork        runs briefly, forks a child that also yields
//   trace_victim crowd N KB  N greenlets yield forever on each of two hub
//                            threads, beside one that spawns and joins
//                            short-lived greenlets without end (a server's
//                            churn), every stack KB KiB; prints "running"
//                            once all run
//   trace_victim waiters N   the same with N greenlets per hub waiting, 40
//                            calls deep, on an Event never set, and one
//                            yielding (a dump must unwind them all; the
//                            loop turns at once)
//   trace_victim selfdump KB a greenlet with a KB KiB stack calls
//                            gs::format_run_info(); prints "dumped N lines"
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "greenscope/runtime.h"
#include "greenscope/stacks.h"

using namespace std::chrono_literals;

namespace {

// kMinYields: the tests count the switches a run recorded (more than 100 of
// them). A time alone does not give them: a loaded machine can keep this
// process off the CPU for most of 50 ms, and TSan slows every switch. So
// each spinner yields at least this often, however long that takes, and
// every spin_for() records at least 4 * kMinYields switches (each yield is
// one switch to the hub and one back).
constexpr int kMinYields = 100;

// spin_for() runs two greenlets that yield to each other for `d`, and on
// until each has yielded kMinYields times.
void spin_for(std::chrono::milliseconds d) {
  const auto end = std::chrono::steady_clock::now() + d;
  const auto spin = [&end] {
    for (int n = 0; n < kMinYields || std::chrono::steady_clock::now() < end; ++n) gs::yield();
  };
  auto a = gs::spawn(spin);
  auto b = gs::spawn(spin);
  a.set_name("spinner-a");
  b.set_name("spinner-b");
  a.join();
  b.join();
}

// wait_deep() waits on `never` from `depth` calls down: a stack a dump
// takes a while to unwind and print.
// `waiting` counts the greenlets that got there.
[[gnu::noinline]] void wait_deep(int depth, gs::Event& never, int& waiting) {
  if (depth > 0) {
    wait_deep(depth - 1, never, waiting);
    asm volatile("" ::: "memory");  // not a tail call: each level keeps its frame
    return;
  }
  ++waiting;
  never.wait();
}

// crowd() spawns `n` greenlets that yield forever on this thread's hub
// (`waiting`: that wait on an Event never set, beside one that yields) and
// one that spawns and joins short-lived greenlets, counts itself in
// `ready` (once all wait, if `waiting`), and joins them (never returns).
void crowd(int n, bool waiting, std::atomic<int>& ready) {
  std::vector<gs::Greenlet<void>> all;
  gs::Event never;
  int at_wait = 0;
  for (int i = 0; i < n; ++i) all.push_back(gs::spawn([waiting, &never, &at_wait] {
    if (waiting) wait_deep(40, never, at_wait);
    for (;;) gs::yield();
  }));
  if (waiting) all.push_back(gs::spawn([] {
    for (;;) gs::yield();
  }));
  all.push_back(gs::spawn([] {
    for (;;) {
      auto child = gs::spawn([] { gs::yield(); });
      child.join();
    }
  }));
  while (waiting && at_wait < n) gs::yield();  // all started and waiting first
  ready.fetch_add(1);
  for (auto& g : all) g.join();
}

void set_stack_kib(const char* kib) {
  gs::RuntimeOptions options;
  options.stack_size = static_cast<std::size_t>(std::atoi(kib)) * 1024;
  gs::configure(options);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "loop";
  if (mode == "loop") {
    spin_for(200ms);
    std::printf("running\n");
    std::fflush(stdout);
    for (;;) spin_for(100ms);
  }
  if (mode == "exit") {
    spin_for(50ms);
    return argc > 2 ? std::atoi(argv[2]) : 0;
  }
  if (mode == "crash") {
    spin_for(50ms);
    ::raise(SIGSEGV);  // as a null dereference would, without the compiler objecting
    return 1;
  }
  if (mode == "fork") {
    spin_for(20ms);
    const pid_t child = ::fork();
    if (child == 0) {
      spin_for(20ms);
      std::_Exit(0);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    spin_for(20ms);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  }
  if (mode == "crowd" || mode == "waiters") {
    const int n = argc > 2 ? std::atoi(argv[2]) : 100;
    if (argc > 3) set_stack_kib(argv[3]);
    const bool waiting = mode == "waiters";
    std::atomic<int> ready{0};
    std::thread other([n, waiting, &ready] { crowd(n, waiting, ready); });
    other.detach();
    auto herald = gs::spawn([&ready] {
      while (ready.load() < 2) gs::yield();
      std::printf("running\n");
      std::fflush(stdout);
    });
    crowd(n, waiting, ready);
    return 0;
  }
  if (mode == "selfdump") {
    if (argc > 2) set_stack_kib(argv[2]);
    spin_for(20ms);
    auto dumper = gs::spawn([] {
      const std::string text = gs::format_run_info();
      std::printf("dumped %zu lines\n", static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')));
    });
    dumper.join();
    return 0;
  }
  std::fprintf(stderr, "trace_victim: unknown mode '%s'\n", mode.c_str());
  return 2;
}
