// monitor_internal.h: what the stall monitor's files share (private to
// them). The monitor is split by concern: detection and the stalls' lives
// (monitor.cpp), sampling a stalled thread (monitor_sampling.cpp), the
// verdict (monitor_verdict.cpp), and reporting: the observer, the
// on_stall() callback, printing, run-info dumps (monitor_reports.cpp).
#pragma once

#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

#include "beat.h"
#include "greenscope/detail/clock.h"
#include "greenscope/stall.h"

namespace gs::detail::mon {

// --- Shared state (monitor.cpp) ---------------------------------------------------
extern std::mutex g_registry_mutex;
extern std::vector<Beat*>& g_beats;  // guarded by g_registry_mutex
extern std::mutex g_config_mutex;
// g_program_code: the program gave the reporter code of its own (an
// on_stall() callback), which may use its fds: from then on the reporter
// shares its fd table (reporter_runs_program_code()).
extern std::atomic<bool> g_program_code;
extern StallOptions g_options;       // guarded by g_config_mutex
extern StallCallback& g_callback;    // guarded by g_config_mutex
// g_dump_signal: a run-info dump asked for by that signal, 0 if none
// (request_dump() sets it, serve_dump() takes it).
extern std::atomic<int> g_dump_signal;

inline std::int64_t ticks_to_ns(std::uint64_t ticks) {
  return static_cast<std::int64_t>(static_cast<double>(ticks) / ticks_per_ns());
}

inline void sleep_us(long us) {
  timespec ts{0, us * 1000};
  ::nanosleep(&ts, nullptr);
}

// poll_until() naps 20 us at a time until `done()` or `timeout_ns` passed on
// the clock, and says which. The bound is the clock, not a count of naps: a
// 20 us nap lasts 60-100 us (timer slack, a busy machine, TSan), and a count
// of them kept the monitor away from every hub five times longer than meant.
template <typename Done>
bool poll_until(std::uint64_t timeout_ns, Done done) {
  const std::uint64_t give_up = mono_now_ns() + timeout_ns;
  for (;;) {
    if (done()) return true;
    if (mono_now_ns() >= give_up) return false;
    sleep_us(20);
  }
}

// --- One stall in progress -------------------------------------------------------
struct ActiveStall {
  StallReport report;
  std::uint64_t seq = 0;
  std::uint64_t detected_ticks = 0;
  std::int64_t detected_cpu_ns = -1;
  std::int64_t detected_run_delay_ns = -1;
  // before: the monitor's last reading from before the stall began (ticks
  // 0: none), for a stall detected too late for its window (classify()).
  Reading before;
  std::uint64_t last_sample_ticks = 0;
  std::int64_t next_unended_ns = 1'000'000'000;  // report an ongoing stall at 1 s, 2 s, 4 s...
  bool signaled_in_syscall = false;
  std::uintptr_t last_syscall_sp = 0;
};

// Delivery: what to tell the observer/callback once the registry lock is
// released (the callback may call format_run_info(), which takes it).
struct Delivery {
  enum Kind { Begin, Sample, End, Ongoing } kind;
  StallReport report;
  StallSample sample;
};

// --- Sampling (monitor_sampling.cpp) -----------------------------------------------
// install_sample_handler() picks the sample signal and installs its handler, once.
void install_sample_handler();
// take_sample() samples one stalled hub (see there).
StallSample take_sample(Beat& b, ActiveStall& st, std::vector<std::uint8_t>& scratch);

// --- The verdict (monitor_verdict.cpp) ---------------------------------------------
// set_verdict() judges the report from what was measured and sampled.
void set_verdict(StallReport& r);
// classify() measures the window from detection to `end_ticks` and judges.
void classify(ActiveStall& st, std::uint64_t end_ticks, std::int64_t end_cpu_ns, std::int64_t end_run_delay_ns);

// --- Reporting (monitor_reports.cpp) -----------------------------------------------
// deliver() queues deliveries for the reporter thread.
void deliver(const std::vector<Delivery>& ds);
// start_reporter() starts the reporter thread; stop_reporter() joins it
// after everything queued was reported, then prints the count of
// suppressed reports. Under g_thread_mutex (monitor.cpp).
void start_reporter();
void stop_reporter();
// restart_reporter() stops the reporter, after everything queued was
// reported, and starts it again from this thread. Under g_thread_mutex.
void restart_reporter();
// serve_dump() hands a signalled dump to the dumper thread (monitor
// thread); stop_dumper() lets it finish and joins it.
void serve_dump();
void stop_dumper();
// reset_reports_after_fork() forgets the parent's reporter and dumper
// threads and makes their locks anew (a forked child).
void reset_reports_after_fork();

}  // namespace gs::detail::mon
