// decay_after_burst: what a burst's memory costs the quiet time after it.
//
//   gs_decay_after_burst [GREENLETS] [SECONDS]
//
// Spawns GREENLETS (default 200,000) greenlets that are all alive at once
// (each sleeps 20 ms), joins them, then goes on as a quiet server does: one
// short greenlet at a time, about 1,000 a second, for SECONDS (default 8).
// The runtime's caches give the burst's stacks and blocks back meanwhile
// (runtime/src/core/cache_decay.h). Prints, every second, the resident
// memory and the longest time one spawn + join took in that second: a
// give-back done on the hub shows there as a stall of the runtime's own.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "greenscope/runtime.h"

namespace {

using Clock = std::chrono::steady_clock;

long rss_mib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6) / 1024;
  return -1;
}

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

}  // namespace

int main(int argc, char** argv) {
  const int greenlets = argc > 1 ? std::atoi(argv[1]) : 200000;
  const int seconds = argc > 2 ? std::atoi(argv[2]) : 8;
  std::vector<gs::Greenlet<void>> burst;
  burst.reserve(static_cast<std::size_t>(greenlets));
  for (int i = 0; i < greenlets; ++i) burst.push_back(gs::spawn([] { gs::sleep(std::chrono::milliseconds(20)); }));
  gs::joinall(burst);
  burst.clear();
  std::printf("burst of %d greenlets joined: rss_mib=%ld\n", greenlets, rss_mib());
  const Clock::time_point start = Clock::now();
  double longest_overall = 0;
  for (int s = 1; s <= seconds; ++s) {
    double longest = 0;
    long spawns = 0;
    while (Clock::now() < start + std::chrono::seconds(s)) {
      const Clock::time_point t = Clock::now();
      gs::spawn([] {}).join();
      longest = std::max(longest, ms_since(t));
      ++spawns;
      gs::sleep(std::chrono::microseconds(100));
    }
    longest_overall = std::max(longest_overall, longest);
    std::printf("t=%ds rss_mib=%ld spawns=%ld longest_spawn_join_ms=%.2f\n", s, rss_mib(), spawns, longest);
  }
  std::printf("longest spawn + join after the burst: %.2f ms\n", longest_overall);
}
