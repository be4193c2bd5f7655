// outside_yield: gs::yield() timed from a program built against the
// installed package, the workload of gs_bench's BM_YieldPingPong and
// gevent_bench.py's yield_pingpong: two greenlets each yielding N times;
// ns per yield (one greenlet -> hub -> other greenlet). Prints the best of
// ROUNDS rounds and the median, one line: "yield_pingpong best_ns median_ns".
//
//   outside_yield [N per greenlet, default 200000] [rounds, default 7]
#include <greenscope/runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

void yielder(int n) {
  for (int i = 0; i < n; ++i) gs::yield();
}

double one_round(int n) {
  const auto start = std::chrono::steady_clock::now();
  auto a = gs::spawn(&yielder, n);
  auto b = gs::spawn(&yielder, n);
  a.join();
  b.join();
  const std::chrono::duration<double, std::nano> took = std::chrono::steady_clock::now() - start;
  return took.count() / (2.0 * n);
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 200000;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 7;
  if (n <= 0 || rounds <= 0) {
    std::fprintf(stderr, "usage: outside_yield [yields per greenlet > 0] [rounds > 0]\n");
    return 2;
  }
  one_round(n / 10 + 1);  // warm: stacks cached, code paged in
  std::vector<double> ns;
  for (int r = 0; r < rounds; ++r) ns.push_back(one_round(n));
  std::sort(ns.begin(), ns.end());
  std::printf("yield_pingpong %.2f %.2f\n", ns.front(), ns[ns.size() / 2]);
  return 0;
}
