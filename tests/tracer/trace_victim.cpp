// trace_victim: a program linked with the runtime only (no tracer code), for
// tests that trace it through the environment and kill it.
//   trace_victim loop        yields forever; prints "running" after 200 ms
//                            (and at least kMinYields yields of each spinner)
//   trace_victim exit N      runs briefly, then exits with status N
//   trace_victim crash       runs briefly, then dereferences null
//   trace_victim fork        runs briefly, forks a child that also yields
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "greenscope/runtime.h"

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
  std::fprintf(stderr, "trace_victim: unknown mode '%s'\n", mode.c_str());
  return 2;
}
