// crash.cpp: before a crashing program dies, have the writer ship (or, in
// flight-recorder mode, dump) what every thread committed. Installed only
// over default actions: a program's or a sanitizer's own handler is kept.
#include "crash.h"

#include <signal.h>

#include "session.h"

namespace gs::trace::detail {

namespace {

constexpr int kCrashSignals[] = {SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE};
constexpr int kCrashFlushTimeoutMs = 2000;

void on_crash(int sig, siginfo_t* info, void*) {
  flush_for_crash(kCrashFlushTimeoutMs);
  // SA_RESETHAND restored the default action. A fault re-executes the
  // faulting instruction on return; a sent signal (abort) must be re-sent.
  if (info == nullptr || info->si_code <= 0) ::raise(sig);
}

}  // namespace

void install_crash_handlers() {
  for (int sig : kCrashSignals) {
    struct sigaction old {};
    if (::sigaction(sig, nullptr, &old) != 0 || old.sa_handler != SIG_DFL || (old.sa_flags & SA_SIGINFO)) continue;
    struct sigaction sa {};
    sa.sa_sigaction = &on_crash;
    sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    ::sigaction(sig, &sa, nullptr);
  }
}

}  // namespace gs::trace::detail
