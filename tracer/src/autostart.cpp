// autostart.cpp: tracing driven by the environment, for programs that were
// not written to call gs::trace::start(). The runtime loads this library
// when one of these is set (runtime/src/introspection/trace_loader.cpp):
//   GREENSCOPE_TRACE=path            record from start-up to exit into path
//   GREENSCOPE_TRACE_SIGNAL=SIGUSR2  recording starts off; that signal turns
//                                    it on (into path, or greenscope-<pid>
//                                    .gstrace), off, on (path-2)...
//   GREENSCOPE_TRACE_FLIGHT_MIB=N    flight recorder: keep the last N MiB
//   GREENSCOPE_TRACE_DUMP_SIGNAL=SIG that signal dumps the flight recorder
//   GREENSCOPE_TRACE_QUIET=1         no "greenscope: ..." lines on stderr
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "greenscope/detail/env.h"
#include "greenscope/detail/futex.h"
#include "greenscope/detail/quiet_thread.h"
#include "greenscope/trace_env.h"
#include "greenscope/tracer.h"
#include "session.h"

namespace gs::trace::detail {

namespace {

bool g_quiet = false;
// env_options() is built on first use: the constructor below may run before
// this file's static initializers. Never destroyed: the atexit stop reads it.
Options& env_options() {
  static Options* options = new Options();
  return *options;
}
std::atomic<std::uint32_t> g_toggle_word{0};
unsigned g_sessions = 0;

void say(const std::string& text) {
  if (!g_quiet) std::fprintf(stderr, "greenscope: %s\n", text.c_str());
}

// start_from_env() starts a session as the environment asks. A session that
// cannot start is said even when quiet: it is an error, not progress.
void start_from_env(bool toggled) {
  Options o = env_options();
  o.path = trace_env::numbered(o.path.empty() ? trace_env::kDefault : o.path, ++g_sessions);
  std::string error;
  if (!start(o, &error)) {
    if (exiting()) return;  // a toggle during exit: nothing to say
    std::fprintf(stderr, "greenscope: %s; %s\n", error.c_str(),
                 toggled ? "tracing stays off until the next signal" : "the program runs untraced");
    return;
  }
  say((o.flight_recorder_mib > 0 ? "flight recorder on (last " + std::to_string(o.flight_recorder_mib) +
                                       " MiB), dumps go to "
                                 : std::string("tracing to ")) +
      path());
}

void stop_and_report() {
  if (!active()) return;
  const bool flight = env_options().flight_recorder_mib > 0;
  const std::string file = path();
  const Stats s = stop();
  if (flight) return;
  say("trace " + file + ": " + std::to_string(s.events) + " events, " + std::to_string(s.dropped) +
      " dropped, " + std::to_string(s.bytes) + " bytes");
}

// stop_at_exit() ends tracing for good: a toggle signal during the exit
// handlers starts nothing (one that started a session just before is
// stopped by stop_for_exit()).
void stop_at_exit() {
  stop_and_report();
  stop_for_exit();
}

void on_toggle_signal(int) {
  g_toggle_word.fetch_add(1);
  gs::detail::futex_wake(g_toggle_word);
}

void on_dump_signal(int) { request_dump_async(); }

// toggle_loop() runs on its own thread: start() and stop() are not
// async-signal-safe, so the handler only wakes this thread. It stays in the
// program's fd table (own_fd_table.h), unlike the tracer's other threads:
// the threads a session starts from here are made in this table, as they
// are when the program starts one, and leave it as they start.
void toggle_loop() {
  pthread_setname_np(pthread_self(), "gs-toggle");
  std::uint32_t seen = g_toggle_word.load();
  for (;;) {
    gs::detail::futex_wait(g_toggle_word, seen);
    const std::uint32_t now = g_toggle_word.load();
    if (now == seen) continue;
    seen = now;
    if (active()) stop_and_report(); else start_from_env(true);
  }
}

void install_handler(int sig, void (*handler)(int)) {
  struct sigaction sa {};
  sa.sa_handler = handler;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  ::sigaction(sig, &sa, nullptr);
}

void after_fork_in_child() { forget_session_after_fork(); }

// kMaxFlightMib: 64 GiB, more than any flight recorder needs; a bigger
// number is a typo.
constexpr long kMaxFlightMib = 65536;

[[gnu::constructor]] void autostart() {
  const char* trace = std::getenv(trace_env::kTrace);
  const bool has_toggle = !gs::detail::env_value(trace_env::kSignal).empty();
  const bool has_flight = !gs::detail::env_value(trace_env::kFlightMib).empty();
  g_quiet = gs::detail::env_flag(trace_env::kQuiet, "not quiet").value_or(false);
  pthread_atfork(nullptr, nullptr, &after_fork_in_child);
  if (trace == nullptr && !has_toggle && !has_flight) return;
  env_options().path = trace != nullptr ? trace : "";
  // Children inherit the environment: unless the path names each process
  // (%p), an exec'd child traced through it would overwrite this trace. So
  // they get path-%p: each writes its own file, path-PID.
  if (trace != nullptr && env_options().path.find("%p") == std::string::npos)
    ::setenv(trace_env::kTrace, trace_env::per_process(env_options().path).c_str(), 1);
  if (has_flight) {
    const auto mib = gs::detail::env_number(trace_env::kFlightMib, 1, kMaxFlightMib,
                                            "a size in MiB from 1 to 65536", "tracing stays off");
    if (!mib) return;  // a flight recorder of no known size: record nothing rather than guess
    env_options().flight_recorder_mib = static_cast<std::size_t>(*mib);
  }
  const int toggle = gs::detail::env_signal(trace_env::kSignal, "tracing stays off");
  if (toggle < 0) return;  // the program meant to choose when to trace: never start it unasked
  if (toggle > 0) {
    install_handler(toggle, &on_toggle_signal);
    gs::detail::quiet_thread(&toggle_loop).detach();
  }
  if (const int dump = gs::detail::env_signal(trace_env::kDumpSignal, "no dumps on a signal"); dump > 0) {
    // Installed even so: the signal was meant for greenscope, and its
    // default action may kill.
    install_handler(dump, &on_dump_signal);
    if (!has_flight)
      gs::detail::env_warn_once(trace_env::kDumpSignal,
                                std::string(trace_env::kDumpSignal) +
                                    " dumps a flight recorder, and GREENSCOPE_TRACE_FLIGHT_MIB is not set: the "
                                    "signal does nothing (a streamed trace holds everything already)");
  }
  // With a toggle signal, tracing waits for the first signal.
  if (toggle == 0) start_from_env(false);
  at_tracer_exit(&stop_at_exit);
}

}  // namespace

}  // namespace gs::trace::detail
