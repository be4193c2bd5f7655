// monitor.h: the monitor thread ("greenscope-monitor"), private. It watches
// every hub's Beat for stalls, samples stalled threads' stacks, and serves
// requests that must not run where they arise: run-info dumps asked for by
// a signal, and crash reports (the crashed thread waits while the monitor
// unwinds, symbolizes, prints and lets the observer flush).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "beat.h"

namespace gs::detail {

// ensure_monitor_thread() starts the thread if it is not running (stall
// detection stays off unless start_stall_monitor() turned it on).
void ensure_monitor_thread();

// reporter_runs_program_code() is said before the program hands the
// monitor's reporter code of its own (an on_stall() callback): from then on
// the reporter shares the program's fd table (own_fd_table.h), restarted if
// it runs with its own.
void reporter_runs_program_code();
bool monitor_thread_running();

// wake_monitor() is async-signal-safe: it makes the monitor look at its
// requests now (a futex wake).
void wake_monitor();

// request_dump() is async-signal-safe: the monitor will print
// format_run_info() to stderr and record it, naming `signal_number`.
void request_dump(int signal_number);

// install_dump_signal() makes signal `sig` print format_run_info() to
// stderr and record it (GREENSCOPE_DUMP_SIGNAL, read by env_signal()).
void install_dump_signal(int sig);
bool dump_signal_installed();

// CrashRequest: filled by the crash handler (crash_handler.cpp), served by
// the monitor. One at a time (the first crash wins).
struct CrashRequest {
  int sig = 0;
  std::uintptr_t fault_address = 0;
  std::uint64_t greenlet = 0;
  char greenlet_name[128] = {};
  pid_t tid = 0;
  bool overflow = false;
  std::size_t stack_size = 0;
  Snapshot snap;
  std::atomic<int> state{0};  // 0 idle, 1 posted, 2 served
};
CrashRequest& crash_request();

// live_beats() is every registered hub's Beat, kept alive for the caller
// (the hubs themselves may go away meanwhile: Beat::leaving). Taken under
// the registry lock, which the caller then does not hold: the monitor
// needs it every period, and a dump waits seconds for a busy hub.
std::vector<std::shared_ptr<Beat>> live_beats();

// Sampling a hub's thread from another thread: sends the sample signal and
// waits for the handler's copy (up to `timeout_ms`). True if `slot` holds a
// snapshot to unwind (then release_sample()).
bool sample_thread(Beat& b, int timeout_ms);
void release_sample(Beat& b);

// greenlet_name_of() is the name of greenlet `id` as last set, from any
// thread ("" if unknown to the registry).
std::string greenlet_name_of(std::uint64_t id);
void remember_greenlet_name(std::uint64_t id, const std::string& name);
void forget_greenlet_name(std::uint64_t id);

// thread_name_of() reads /proc/self/task/TID/comm.
std::string thread_name_of(pid_t tid);

// note_blocking_call() prints a blocking call's report if printing is on
// (rate-limited with the stall reports). Hub thread.
void note_blocking_call(const char* call, int fd, std::int64_t ns, const std::uintptr_t* pcs, std::size_t n);


}  // namespace gs::detail
