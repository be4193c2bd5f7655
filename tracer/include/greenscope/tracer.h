// tracer.h: recording a trace of the runtime: every greenlet switch, loop
// phase, watcher callback, thread-pool job and patched-call wait, where each
// greenlet waits (its stack), and every stall the runtime's monitor finds,
// into a streaming trace file (docs/trace-format.md) that `greenscope` and
// `greenscope-viewer` read.
//
// Three ways to turn it on:
//   GREENSCOPE_TRACE=path ./program        any program linked with the runtime
//   greenscope record -o path -- program   the same, from the CLI
//   gs::trace::start({.path = "x.gstrace"}) ... gs::trace::stop()
// GREENSCOPE_TRACE_SIGNAL=SIGUSR2 makes that signal toggle tracing in a live
// program. docs/tracing.md lists every variable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace gs::trace {

struct Options {
  // path is the trace file. "%p" in it becomes the process id. Empty: 
  // "greenscope-<pid>.gstrace" in the current directory.
  std::string path;
  // flight_recorder_mib > 0 keeps only the last that many MiB of events in
  // memory and writes nothing until dump() (or the dump signal, or a crash).
  std::size_t flight_recorder_mib = 0;
  // buffer_mib caps the memory all threads' event buffers may use while
  // streaming; when the writer falls behind, events are dropped and counted.
  std::size_t buffer_mib = 64;
  // flush_interval_ms is how often the writer ships what threads recorded:
  // at most about that much sits in memory, and a killed program's file
  // holds everything up to its last flush.
  unsigned flush_interval_ms = 50;
  // crash_flush: on SIGSEGV, SIGBUS, SIGABRT, SIGILL and SIGFPE, flush (or,
  // in flight-recorder mode, dump) before the process dies.
  bool crash_flush = true;
  // wait_stacks: record the stack of every greenlet that suspends to wait
  // (sleep, io, event, lock, queue, join, idle, wait; not yield), about
  // 100 ns per such switch. GREENSCOPE_WAIT_STACKS=0 turns it off.
  bool wait_stacks = true;
  // wait_stack_depth: frames kept per wait stack, innermost first (1..64).
  // GREENSCOPE_WAIT_STACK_DEPTH overrides it.
  unsigned wait_stack_depth = 16;
  // stall_monitor: start the runtime's stall monitor (gs::start_stall_monitor(),
  // stall.h) with the session, so that the trace holds every stall; the
  // session stops it again. A monitor the program runs already is used and
  // left running. GREENSCOPE_STALL_MS sets its threshold;
  // GREENSCOPE_TRACE_STALLS=0 turns this off.
  bool stall_monitor = true;
  // redact: leave the program's arguments out of the trace: it keeps
  // argv[0] and their number, and says they were redacted.
  // GREENSCOPE_TRACE_REDACT=1 turns it on (0 off).
  bool redact = false;
};

// Stats are a session's counters, as stop() or stats() see them.
struct Stats {
  std::uint64_t events = 0;    // events recorded
  std::uint64_t dropped = 0;   // events dropped because buffers were full
  std::uint64_t bytes = 0;     // bytes written to the file so far
  std::uint64_t threads = 0;   // threads that recorded events
};

// start() begins recording into options.path. Returns false, with the reason
// in *error, if the file cannot be created or tracing is already on.
bool start(const Options& options, std::string* error = nullptr);
// stop() stops recording, writes everything recorded, closes the file, and
// returns the session's counters. Does nothing when tracing is off.
Stats stop();
// active() says whether a session is recording.
bool active();
// path() is the file the current (or last) session writes.
std::string path();
// stats() reads the current session's counters.
Stats stats();
// dump() writes a flight-recorder session's retained events to `path`
// (empty: options.path with "-<n>" before its extension) and returns the
// file written, or "" if there is no flight-recorder session.
std::string dump(const std::string& path = {});

}  // namespace gs::trace
