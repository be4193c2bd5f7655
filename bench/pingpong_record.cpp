// pingpong_record.cpp: records a real trace of a known size for the CLI's
// benchmarks (bench/report_compare.sh): THREADS threads, each with a hub and
// two greenlets that yield to each other YIELDS times, traced to FILE. Each
// yield is about two events (the switch away and the resume).
//
//   gs_pingpong_record FILE YIELDS [THREADS]
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "greenscope/runtime.h"
#include "greenscope/tracer.h"

namespace {

// ping_pong() runs two greenlets on this thread's hub that each yield
// `yields` times.
void ping_pong(std::uint64_t yields) {
  const auto body = [yields] {
    for (std::uint64_t i = 0; i < yields; ++i) gs::yield();
  };
  std::vector<gs::GreenletRef> pair{gs::spawn(body), gs::spawn(body)};
  gs::joinall(pair);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s FILE YIELDS [THREADS]\n", argv[0]);
    return 2;
  }
  const std::uint64_t yields = std::strtoull(argv[2], nullptr, 10);
  const int threads = argc > 3 ? std::atoi(argv[3]) : 2;
  gs::trace::Options options;
  options.path = argv[1];
  options.buffer_mib = 256;  // no drops: the writer keeps up with a ping-pong only with room
  std::string error;
  if (!gs::trace::start(options, &error)) {
    std::fprintf(stderr, "gs_pingpong_record: %s\n", error.c_str());
    return 1;
  }
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) workers.emplace_back([yields] { ping_pong(yields); });
  for (std::thread& w : workers) w.join();
  const gs::trace::Stats stats = gs::trace::stop();
  std::printf("%s: %llu events, %llu dropped, %llu bytes\n", argv[1], static_cast<unsigned long long>(stats.events),
              static_cast<unsigned long long>(stats.dropped), static_cast<unsigned long long>(stats.bytes));
  return stats.dropped == 0 ? 0 : 1;
}
