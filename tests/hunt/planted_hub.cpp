// planted_hub.cpp: bugs that run outside any greenlet of the program's: a
// slow run_callback() callback (the hub runs it), and a slow signal
// handler (gs::signal_handler runs it in a greenlet of its own).
#include <signal.h>
#include <unistd.h>

#include <cstdint>

#include "greenscope/runtime.h"
#include "greenscope/signal.h"
#include "planted.h"

namespace hunt {
namespace {

void prepare_nothing(const Options&) {}

// hunt_flush_metrics() is the bug: a callback that works for long in the hub.
[[gnu::noinline]] void hunt_flush_metrics(std::chrono::milliseconds d) {
  const auto end = Clock::now() + d;
  std::uint64_t h = 1469598103934665603u;
  while (Clock::now() < end)
    for (int i = 0; i < 2'000; ++i) h = (h ^ static_cast<std::uint64_t>(i)) * 1099511628211u;
  g_sink = static_cast<double>(h);
}

Truth plant_callback(const Options& o) {
  Truth t;
  gs::Event done;
  gs::run_callback([&o, &t, &done] {
    Measure m;
    hunt_flush_metrics(o.length);
    m.stop(t);
    done.set();
  });
  done.wait();
  t.owner = "callback";
  t.function = "hunt_flush_metrics";
  t.expect = "cpu-bound";
  return t;
}

// hunt_reload_config() is the bug: SIGHUP's handler reloads for long.
[[gnu::noinline]] void hunt_reload_config(std::chrono::milliseconds d) {
  const auto end = Clock::now() + d;
  double x = 2;
  while (Clock::now() < end)
    for (int i = 0; i < 2'000; ++i) x = x * 0.999 + __builtin_sqrt(x);
  g_sink = x;
}

Truth plant_signal(const Options& o) {
  Truth t;
  gs::Event done;
  auto handler = gs::signal_handler(SIGHUP, [&o, &t, &done] {
    t.greenlet_id = gs::current().id();
    t.greenlet = gs::current().name();
    Measure m;
    hunt_reload_config(o.length);
    m.stop(t);
    done.set();
  });
  ::kill(::getpid(), SIGHUP);
  done.wait();
  t.function = "hunt_reload_config";
  t.expect = "cpu-bound";
  return t;
}

}  // namespace

void add_hub_kinds(std::vector<Kind>& out) {
  out.push_back({"callback", prepare_nothing, plant_callback});
  out.push_back({"signal", prepare_nothing, plant_signal});
}

}  // namespace hunt
