// viewer_trace_maker: records the trace the viewer tests show, with the
// real runtime and tracer: named greenlets that run, sleep and wait on a
// queue (so several greenlet colours and grey waits), and one greenlet that
// spins without yielding for 60 ms: a stall, the viewer's red; and one
// run-info dump before it.
//   viewer_trace_maker OUT.gstrace
// Exit 0 when OUT holds that stall; else 1 with the reason.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "greenscope/runtime.h"
#include "greenscope/stacks.h"
#include "greenscope/stall.h"
#include "greenscope/traceio.h"
#include "greenscope/tracer.h"

using namespace std::chrono_literals;

namespace {

// kGiveUp bounds the wait for the monitor's report, so that a monitor that
// never reports fails the test instead of hanging it.
constexpr auto kGiveUp = 30s;

std::atomic<std::uint64_t> g_spinner{0};
std::atomic<bool> g_spin_reported{false};

[[gnu::noinline]] void spin_without_yielding(std::chrono::milliseconds d) {
  const auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) asm volatile("" ::: "memory");
}

// workload() is what the trace shows: a producer and two consumers on a
// queue, two sleepers, and the spinner in the middle of it all.
void workload() {
  gs::Queue<int> q(4);
  std::vector<gs::GreenletRef> all;
  all.push_back(gs::spawn([&q] {
    for (int i = 0; i < 40; ++i) {
      q.put(i);
      gs::sleep(1ms);
    }
    q.put(-1);
    q.put(-1);
  }));
  all.back().set_name("producer");
  for (const char* name : {"consumer-1", "consumer-2"}) {
    all.push_back(gs::spawn([&q] {
      while (q.get() >= 0) spin_without_yielding(std::chrono::milliseconds(1));
    }));
    all.back().set_name(name);
  }
  for (const char* name : {"sleeper-a", "sleeper-b"}) {
    all.push_back(gs::spawn([] {
      for (int i = 0; i < 20; ++i) {
        spin_without_yielding(std::chrono::milliseconds(1));
        gs::sleep(2ms);
      }
    }));
    all.back().set_name(name);
  }
  gs::sleep(15ms);
  gs::dump_run_info("viewer test");  // a run-info marker on the hub's row
  auto spinner = gs::spawn([] { spin_without_yielding(60ms); });
  spinner.set_name("spinner");
  g_spinner = spinner.id();
  all.push_back(spinner);
  gs::joinall(all);
  // The monitor reports the stall's end from its own thread: wait for it.
  const auto give_up = std::chrono::steady_clock::now() + kGiveUp;
  while (!g_spin_reported && std::chrono::steady_clock::now() < give_up) gs::sleep(1ms);
}

bool has_spinner_stall(const std::string& path, std::string* why) {
  gs::traceio::LoadResult r = gs::traceio::load(path);
  if (!r.trace) return *why = r.error, false;
  for (const auto& s : r.trace->stalls())
    if (s.greenlet == g_spinner) return true;
  *why = "the trace has " + std::to_string(r.trace->stalls().size()) + " stalls, none of greenlet " +
         std::to_string(g_spinner.load());
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: viewer_trace_maker OUT.gstrace\n");
    return 2;
  }
  gs::on_stall([](const gs::StallReport& r) {
    if (r.ended && r.owner == gs::StallOwner::Greenlet && r.greenlet_id == g_spinner) g_spin_reported = true;
  });
  gs::trace::Options o;
  o.path = argv[1];
  std::string error;
  if (!gs::trace::start(o, &error)) {
    std::fprintf(stderr, "viewer_trace_maker: trace::start: %s\n", error.c_str());
    return 1;
  }
  workload();
  gs::trace::stop();
  gs::on_stall(nullptr);
  if (!has_spinner_stall(argv[1], &error)) {
    std::fprintf(stderr, "viewer_trace_maker: %s\n", error.c_str());
    return 1;
  }
  std::printf("viewer_trace_maker: wrote %s\n", argv[1]);
  return 0;
}
