// crash.cpp: before a crashing program dies, have the writer ship (or, in
// flight-recorder mode, dump) what every thread committed.
//
// Two handlers could do this; exactly one does:
//  - The runtime's (runtime/src/introspection/crash_handler.cpp), installed when its stall
//    monitor starts and never removed. While the monitor runs, it unwinds the
//    crash and calls Observer::on_crash() on the monitor thread, where the
//    tracer records a Crash event and flushes (recorder). A session starts
//    the monitor before calling install_crash_handlers(), so with the monitor
//    on, this file finds that handler in place and stands aside.
//  - This one, for sessions with the monitor off: installed over the default
//    action, or over the runtime's handler while the monitor is not running
//    (without its monitor that handler cannot report), and removed when the
//    session stops. A program's or a sanitizer's own handler is kept.
// This handler then passes the signal on to whatever it replaced.
#include "crash.h"

#include <dlfcn.h>
#include <signal.h>

#include <atomic>

#include "greenscope/observer.h"
#include "greenscope/stall.h"
#include "session.h"

namespace gs::trace::detail {

namespace {

constexpr int kCrashSignals[] = {SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE};
constexpr int kCrashFlushTimeoutMs = 2000;

struct sigaction g_previous[NSIG];
std::atomic<bool> g_ours[NSIG];

void on_crash(int sig, siginfo_t* info, void*) {
  flush_for_crash(kCrashFlushTimeoutMs);
  ::sigaction(sig, &g_previous[sig], nullptr);
  g_ours[sig].store(false);
  // A fault re-executes the faulting instruction on return, reaching the
  // previous action; a sent signal (abort, raise) must be sent again.
  if (info == nullptr || info->si_code <= 0) ::raise(sig);
}

bool is_ours(const struct sigaction& a) { return (a.sa_flags & SA_SIGINFO) && a.sa_sigaction == &on_crash; }

// is_runtime_handler() tells the runtime's crash handler by the library its
// code lies in.
bool is_runtime_handler(const struct sigaction& a) {
  if (!(a.sa_flags & SA_SIGINFO) || a.sa_sigaction == nullptr) return false;
  Dl_info runtime{}, handler{};
  return ::dladdr(reinterpret_cast<void*>(&gs::set_observer), &runtime) != 0 &&
         ::dladdr(reinterpret_cast<void*>(a.sa_sigaction), &handler) != 0 && runtime.dli_fbase == handler.dli_fbase;
}

bool replaceable(const struct sigaction& a) {
  if (!(a.sa_flags & SA_SIGINFO)) return a.sa_handler == SIG_DFL;
  return is_runtime_handler(a) && !gs::stall_monitor_running();
}

}  // namespace

void install_crash_handlers() {
  for (int sig : kCrashSignals) {
    struct sigaction old {};
    if (::sigaction(sig, nullptr, &old) != 0 || is_ours(old) || !replaceable(old)) continue;
    struct sigaction sa {};
    sa.sa_sigaction = &on_crash;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    g_previous[sig] = old;
    g_ours[sig].store(true);
    ::sigaction(sig, &sa, nullptr);
  }
}

void remove_crash_handlers() {
  for (int sig : kCrashSignals) {
    if (!g_ours[sig].load()) continue;
    struct sigaction now {};
    // A handler installed over ours since (it chains to ours) stays, and so
    // does ours beneath it.
    if (::sigaction(sig, nullptr, &now) != 0 || !is_ours(now)) continue;
    ::sigaction(sig, &g_previous[sig], nullptr);
    g_ours[sig].store(false);
  }
}

}  // namespace gs::trace::detail
