// soak_churn: 100,000 greenlets spawning and exiting without end, for
// scripts/soak.sh's churn phase (docs/reliability.md).
//
//   gs_soak_churn SECONDS [LIVE]
//
// Keeps LIVE greenlets (default 100,000) alive at once: each sleeps a
// moment and exits, and the spawner replaces every one that ended, so
// greenlets spawn and exit continuously. Every 10 s it prints one line:
//   t=SECONDS spawned=N rss_kib=N maps=N
// (resident memory and the number of mappings, from /proc/self), so that
// memory and mappings can be seen to stay flat.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "greenscope/runtime.h"

namespace {

long rss_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

long map_count() {
  std::ifstream maps("/proc/self/maps");
  long n = 0;
  for (std::string line; std::getline(maps, line);) ++n;
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s SECONDS [LIVE]\n", argv[0]);
    return 2;
  }
  const auto seconds = std::chrono::seconds(std::atol(argv[1]));
  const long live = argc > 2 ? std::atol(argv[2]) : 100000;
  const auto start = std::chrono::steady_clock::now();
  auto next_report = start;
  long running = 0, spawned = 0;
  gs::Event slot_free;
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_report) {
      std::printf("t=%lld spawned=%ld rss_kib=%ld maps=%ld\n",
                  static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(now - start).count()),
                  spawned, rss_kib(), map_count());
      std::fflush(stdout);
      next_report += std::chrono::seconds(10);
    }
    if (now - start >= seconds) break;
    while (running < live) {
      ++running;
      ++spawned;
      gs::spawn([&running, &slot_free, spawned] {
        gs::sleep(std::chrono::milliseconds(spawned % 20));  // 0..19 ms: exits spread out
        --running;
        slot_free.set();
      });
    }
    slot_free.clear();
    slot_free.wait();
  }
  while (running > 0) gs::sleep(std::chrono::milliseconds(10));
  std::printf("done spawned=%ld rss_kib=%ld maps=%ld\n", spawned, rss_kib(), map_count());
  return 0;
}
