// trace_victim: a program linked with the runtime only (no tracer code), for
// tests that trace it through the environment and kill it.
//   trace_victim loop        yields forever; prints "running" after 200 ms
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

void spin_for(std::chrono::milliseconds d) {
  const auto end = std::chrono::steady_clock::now() + d;
  auto a = gs::spawn([&] { while (std::chrono::steady_clock::now() < end) gs::yield(); });
  auto b = gs::spawn([&] { while (std::chrono::steady_clock::now() < end) gs::yield(); });
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
