// hunt_planted: one planted bug per run, among idle greenlets if asked, as
// a user's program would be traced (GREENSCOPE_TRACE=... in the
// environment, set by the caller):
//
//   hunt_planted KIND [--crowd N] [--ms MS] [--dir DIR]
//   hunt_planted hog              spin until killed (the loaded machine)
//   hunt_planted list             the kinds, one a line
//
// The run: KIND's prepare() (before the runtime is touched), N greenlets
// that wait on an Event all along (spawned 10 at a time, so that spawning
// them stalls nothing), 20 ms of quiet, the planted bug,
// then the crowd is let go. The truth goes to stdout (planted.h).
#include <signal.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "greenscope/runtime.h"
#include "greenscope/stall.h"
#include "planted.h"

namespace hunt {

Measure::Measure() : wall_(Clock::now()), cpu_(thread_cpu_ns()) {}

void Measure::stop(Truth& t) {
  const std::int64_t cpu = thread_cpu_ns();
  t.duration_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - wall_).count();
  t.cpu_ns = cpu - cpu_;
}

std::int64_t thread_cpu_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

volatile double g_sink = 0;

namespace {

// shown() keeps a value one word: spaces become %20 (a signal handler's
// greenlet is "signal handler HUP").
std::string shown(const std::string& text) {
  if (text.empty()) return "-";
  std::string out;
  for (const char c : text) out += c == ' ' ? std::string("%20") : std::string(1, c);
  return out;
}

std::string joined(const auto& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ",") + std::to_string(v);
  return out.empty() ? "-" : out;
}
}  // namespace

void print_truth(const Truth& t) {
  std::printf("truth kind=%s owner=%s greenlet_id=%" PRIu64 " greenlet=%s function=%s expect=%s calls=%s"
              " duration_ns=%" PRId64 " cpu_ns=%" PRId64 " call_count=%" PRId64
              " runs_ns=%s run_bounds_ns=%s run_greenlets=%s monitor_wait_ms=%lld monitor_on=%d\n",
              t.kind.c_str(), t.owner.c_str(), t.greenlet_id, shown(t.greenlet).c_str(),
              t.function.c_str(), t.expect.c_str(), t.calls.empty() ? "-" : t.calls.c_str(), t.duration_ns, t.cpu_ns,
              t.call_count, joined(t.runs_ns).c_str(), joined(t.run_bounds_ns).c_str(),
              joined(t.run_greenlets).c_str(), static_cast<long long>(t.monitor_wait_ms),
              t.monitor_on ? 1 : 0);
  std::fflush(stdout);
}

Truth in_planted_greenlet(const std::function<void(Truth&)>& fn) {
  Truth t;
  auto g = gs::spawn([&t, &fn] { fn(t); });
  g.set_name("planted");
  t.greenlet = "planted";
  t.greenlet_id = g.id();
  g.join();
  return t;
}

const std::vector<Kind>& kinds() {
  static const std::vector<Kind> all = [] {
    std::vector<Kind> k;
    add_cpu_kinds(k);
    add_blocking_kinds(k);
    add_dns_kind(k);
    add_hub_kinds(k);
    // The order.
    const std::vector<std::string> order = {"cpu-loop", "zlib",     "page-faults", "read",      "sqlite",     "mutex",
                                            "dns",      "callback", "signal",      "nanosleep", "rare-yields"};
    auto rank = [&order](const Kind& x) { return std::find(order.begin(), order.end(), x.name) - order.begin(); };
    std::stable_sort(k.begin(), k.end(), [&rank](const Kind& a, const Kind& b) { return rank(a) < rank(b); });
    return k;
  }();
  return all;
}

}  // namespace hunt

using namespace std::chrono_literals;
using hunt::Clock;

namespace {

[[noreturn]] void usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s KIND [--crowd N] [--ms MS] [--dir DIR] | hog | list\n", argv0);
  std::exit(2);
}

// hog() spins until killed, or until its parent dies (a test killed at its
// time limit must not leave busy processes behind), or for 120 s at most.
[[noreturn]] void hog() {
  const pid_t parent = ::getppid();
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) std::exit(0);
  const auto give_up = Clock::now() + std::chrono::seconds(120);
  volatile std::uint64_t n = 0;
  for (;;) {
    for (int i = 0; i < 1'000'000; ++i) n = n + 1;
    if (Clock::now() > give_up) std::exit(0);
  }
}

// Crowd is N greenlets that wait from start to end, ten to an Event: idle
// greenlets a real server has around its busy ones. They are let go ten at
// a time too: waking and joining all 1,000 at once was main's own 12 ms of
// CPU under TSan, a real stall of the harness after the truth.
class Crowd {
 public:
  explicit Crowd(int n) : done_(static_cast<std::size_t>((n + 9) / 10)) {
    for (int i = 0; i < n; ++i) {
      gs::Event& done = done_[static_cast<std::size_t>(i / 10)];
      auto g = gs::spawn([&done] { done.wait(); });
      g.set_name("idle-" + std::to_string(i));
      greenlets_.push_back(g);
      // Let them start waiting, 10 at a time: spawning is the harness's own
      // work, and 50 stacks at once (mmap, and under ASan their shadow) took
      // main over the threshold on a loaded machine, a real stall of the
      // harness (fresh-clone CI, ASan pass: two of main's at 10.1 ms).
      if (i % 10 == 9) gs::yield();
    }
  }
  void release() {
    for (std::size_t group = 0; group < done_.size(); ++group) {
      done_[group].set();
      for (std::size_t i = group * 10; i < std::min(greenlets_.size(), group * 10 + 10); ++i) greenlets_[i].join();
    }
  }

 private:
  std::deque<gs::Event> done_;
  std::vector<gs::GreenletRef> greenlets_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) usage(argv[0]);
  const std::string what = argv[1];
  if (what == "hog") hog();
  if (what == "list") {
    for (const hunt::Kind& k : hunt::kinds()) std::printf("%s\n", k.name);
    return 0;
  }
  hunt::Options o;
  int crowd = 0;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) usage(argv[0]);
    if (arg == "--crowd") crowd = std::atoi(argv[++i]);
    else if (arg == "--ms") o.length = std::chrono::milliseconds(std::atoi(argv[++i]));
    else if (arg == "--dir") o.dir = argv[++i];
    else usage(argv[0]);
  }
  const auto kind = std::find_if(hunt::kinds().begin(), hunt::kinds().end(),
                                 [&what](const hunt::Kind& k) { return what == k.name; });
  if (kind == hunt::kinds().end()) usage(argv[0]);

  kind->prepare(o);
  Crowd idle(crowd);
  gs::sleep(20ms);
  // Tracing starts the monitor; on a loaded machine it was seen to miss a
  // whole 146 ms callback planted 20 ms after the hub started (no stall
  // recorded at all). The truth is about a monitor that is on: wait for it
  // (up to 2 s), and say how long that took.
  const auto asked = hunt::Clock::now();
  for (int i = 0; i < 2000 && !gs::stall_monitor_running(); ++i) gs::sleep(1ms);
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(hunt::Clock::now() - asked).count();
  hunt::Truth truth = kind->plant(o);
  truth.monitor_wait_ms = waited;
  truth.monitor_on = gs::stall_monitor_running();
  truth.kind = kind->name;
  // No quiet time before the exit: a program may end right after its stall,
  // and the trace must still hold it (the leaving hub settles its stalls).
  idle.release();
  hunt::print_truth(truth);
  return 0;
}
