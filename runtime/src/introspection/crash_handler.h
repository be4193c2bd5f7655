// crash_handler.h: crash reports (SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE,
// and stack overflows into a greenlet's guard page, which the handler sees on
// the thread's alternate signal stack). The crashed thread copies its stack
// and waits; the monitor thread unwinds, symbolizes, prints the report and
// lets the observer record and flush; then the process dies of the original
// signal, through whatever handler was installed before ours.
#pragma once

namespace gs::detail {

// install_crash_handler() is idempotent; the monitor thread's start calls it.
void install_crash_handler();

// serve_crash() runs on the monitor thread: reports a posted crash.
void serve_crash();

}  // namespace gs::detail
