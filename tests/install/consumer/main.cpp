// An outside program that only knows the installed package: it runs
// greenlets, traces them with the installed tracer, and reads the trace back
// with the installed reader.
#include <greenscope/runtime.h>
#include <greenscope/traceio.h>
#include <greenscope/tracer.h>

#include <cstdio>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer TRACE_FILE\n");
    return 2;
  }
  if (!gs::trace::start({.path = argv[1]})) return 1;
  std::vector<gs::Greenlet<int>> all;
  for (int i = 1; i <= 3; ++i) all.push_back(gs::spawn([](int v) { gs::sleep(std::chrono::milliseconds(v)); return v; }, i));
  int sum = 0;
  for (auto& g : all) sum += g.get();
  gs::trace::stop();
  const gs::traceio::LoadResult r = gs::traceio::load(argv[1]);
  if (!r.trace) {
    std::fprintf(stderr, "consumer: %s\n", r.error.c_str());
    return 1;
  }
  const auto spawns = r.trace->stats().count[static_cast<int>(gs::traceio::EventType::Spawn)];
  std::printf("consumer: %zu greenlets, sum %d, %llu spawns traced\n", all.size(), sum,
              static_cast<unsigned long long>(spawns));
  return 0;
}
