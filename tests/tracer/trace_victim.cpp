// trace_victim: a program linked with the runtime only (no tracer code), for
// tests that trace it through the environment and kill it.
//   trace_victim loop        yields forever; prints "running" after 200 ms
//                            (and at least kMinYields yields of each spinner)
//   trace_victim exit N      runs briefly, then exits with status N
//   trace_victim crash       runs briefly, then dereferences null
//   trace_victim fork        runs briefly, forks a child that also yields
//   trace_victim crowd N KB  N greenlets yield forever on each of two hub
//                            threads, every stack KB KiB; prints "running"
//                            once all run
//   trace_victim fsize PATH  runs until the trace at PATH reached the file
//                            size limit (RLIMIT_FSIZE, set by the test before
//                            exec), then a while longer; prints "survived"
#include <cxxabi.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <typeinfo>
#include <vector>

#include "greenscope/runtime.h"
#include "greenscope/stall.h"

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

// crowd() spawns `n` greenlets that yield forever on this thread's hub,
// counts itself in `ready`, and joins them (never returns).
void crowd(int n, std::atomic<int>& ready) {
  std::vector<gs::Greenlet<void>> all;
  for (int i = 0; i < n; ++i) all.push_back(gs::spawn([] {
    for (;;) gs::yield();
  }));
  ready.fetch_add(1);
  for (auto& g : all) g.join();
}

// file_size() is the size of the file at `path` (0 if none).
long long file_size(const char* path) {
  struct stat st {};
  return ::stat(path, &st) == 0 ? static_cast<long long>(st.st_size) : 0;
}

// fsize() spins until the trace reached the file size limit (a 20 s
// deadline: exit 3), then spins on: the tracer must not write past it,
// nor the limit's SIGXFSZ kill the program.
int fsize(const char* path) {
  rlimit limit{};
  ::getrlimit(RLIMIT_FSIZE, &limit);
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (file_size(path) < static_cast<long long>(limit.rlim_cur)) {
    if (std::chrono::steady_clock::now() > deadline) return 3;
    spin_for(10ms);
  }
  spin_for(50ms);
  std::printf("survived\n");
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "loop";
  if (mode == "fsize" && argc > 2) return fsize(argv[2]);
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
  if (mode == "crowd") {
    const int n = argc > 2 ? std::atoi(argv[2]) : 100;
    gs::RuntimeOptions options;
    if (argc > 3) options.stack_size = static_cast<std::size_t>(std::atoi(argv[3])) * 1024;
    gs::configure(options);
    std::atomic<int> ready{0};
    std::thread other([n, &ready] { crowd(n, ready); });
    other.detach();
    auto herald = gs::spawn([&ready] {
      while (ready.load() < 2) gs::yield();
      std::printf("running\n");
      std::fflush(stdout);
    });
    crowd(n, ready);
    return 0;
  }
  std::fprintf(stderr, "trace_victim: unknown mode '%s'\n", mode.c_str());
  return 2;
}
