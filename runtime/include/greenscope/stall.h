// stall.h: the stall monitor. A stall is a stretch during which a hub's
// thread did not get back to its loop for longer than a threshold, because
// one greenlet or callback kept running: a CPU-bound loop, a blocking call
// nobody patched, a slow callback. The monitor measures it by wall clock
// (so time blocked in the kernel counts), classifies it by the thread's CPU
// time, and samples the stalled thread's stack every few milliseconds until
// it ends.
//
// It starts with tracing (GREENSCOPE_TRACE / gs::trace::start, so traces
// always hold every stall), with GREENSCOPE_STALL_MS=N in the environment,
// or with start_stall_monitor().
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "greenscope/stacks.h"
#include "greenscope/types.h"

namespace gs {

struct StallOptions {
  // threshold: a stall is reported once the thread has been away from its
  // loop this long. 1 ms to 1 h. GREENSCOPE_STALL_MS overrides it.
  std::chrono::milliseconds threshold{10};
  // sample_interval: how often a stalled thread's stack is sampled; up to
  // 1 h, and less than 1 ms is 1 ms.
  std::chrono::milliseconds sample_interval{2};
  // blocking_threshold: with patch_all() active, a call that still blocks
  // the thread (a regular file's read, fsync, an unpatched sleep...) longer
  // than this is reported: 0 to 1 h. GREENSCOPE_BLOCKING_MS overrides it.
  std::chrono::milliseconds blocking_threshold{1};
  // print: write a report of each stall to stderr, at most
  // `prints_per_minute` a minute (then a count of what was suppressed).
  // GREENSCOPE_STALL_PRINT=1 turns it on.
  bool print = false;
  int prints_per_minute = 5;
};

// StallKind is the two-way kind that traces of format 2.1 and earlier know:
// CpuBound only when the verdict is cpu-bound (StallReport::verdict says
// more: blocked in which call, mixed with its shares, starved).
enum class StallKind : std::uint8_t {
  CpuBound,  // the thread used most of the stall's wall time on the CPU
  Blocked    // anything else: blocked in the kernel, mixed, starved of a CPU
};

// StallOwner: what held the thread. Greenlet: a greenlet ran (greenlet_id).
// Hub: the hub's own code. Callback: a run_callback() callback. Watcher: a
// libev watcher callback (watcher names its kind).
enum class StallOwner : std::uint8_t { Greenlet, Hub, Callback, Watcher };

struct StallSample {
  std::int64_t mono_ns = 0;  // CLOCK_MONOTONIC when taken
  StackTrace stack;          // empty if this sample had to be skipped
  bool in_syscall = false;
  int syscall = -1;          // its number if in_syscall
};

struct StallReport {
  std::uint64_t id = 0;            // process-wide, from 1
  pid_t tid = 0;                   // the stalled hub's thread
  std::string thread_name;
  StallOwner owner = StallOwner::Greenlet;
  std::uint64_t greenlet_id = 0;   // when owner is Greenlet
  std::string culprit;             // "greenlet 'worker-3' (id 12)", "run_callback() callback"...
  // The hub's own clock readings around the stall: the moment it handed
  // the thread to the culprit, and the moment it got it back.
  std::int64_t start_mono_ns = 0;
  std::int64_t end_mono_ns = 0;    // 0 while the stall goes on
  std::uint64_t start_ticks = 0, end_ticks = 0;  // the same, in the trace clock
  std::chrono::nanoseconds duration{0};          // so far, if not ended
  bool ended = false;
  StallKind kind = StallKind::CpuBound;
  std::chrono::nanoseconds cpu_time{0};          // thread CPU time over `cpu_window`
  std::chrono::nanoseconds cpu_window{0};
  // run_delay: over `cpu_window`, the time the thread was runnable but
  // waited for a CPU as /proc/self/task/TID/schedstat counts it; -1: not
  // measured. The verdict trusts it only for stalls with few samples (it
  // over-counts on some kernels: docs/stalls.md, "Verdicts").
  std::chrono::nanoseconds run_delay{-1};
  // threshold: the monitor's threshold when the stall was found. A stall
  // whose own time (not waiting for a CPU) stays under it was the machine's
  // doing: "starved".
  std::chrono::nanoseconds threshold{0};
  int syscall = -1;                // the syscall it was blocked in, if Blocked
  // verdict: where the time went, in words (docs/stalls.md, "Verdicts"):
  // "cpu-bound", "blocked in read", "mixed: 18 % CPU, 74 % in fdatasync,
  // 8 % in unlink", "starved: 85 % waiting for a CPU (a loaded machine)...",
  // judged from /proc's word on each sample. format_stall() and the trace's
  // readers also name the samples' frames: a sample /proc found running in
  // a syscall's libc wrapper (fdatasync) counts as in that call there.
  std::string verdict;
  std::vector<StallSample> samples;
};

// start_stall_monitor() starts (or reconfigures) the monitor thread.
// Throws UsageError, and changes nothing, for an option out of its range.
void start_stall_monitor(const StallOptions& options = {});
// stop_stall_monitor() stops it; stalls in progress are reported unended.
void stop_stall_monitor();
bool stall_monitor_running();
StallOptions stall_options();

// on_stall() installs `callback` (nullptr removes it). It runs on the
// monitor's reporting thread (never on a hub's): when a stall ends, and for a stall that goes on, at 1 s, 2 s, 4 s...
// with report.ended false. It must not block for long.
using StallCallback = std::function<void(const StallReport&)>;
void on_stall(StallCallback callback);

// format_stall() is the printed report: duration and culprit; the verdict
// ("blocked in read", "mixed: 18 % CPU, 74 % in fdatasync, 8 % in
// unlink"); the function the samples lead to in the program's own code
// ("in zz_compress_archive(...) on 76 of 76 samples; self: ..."); and the
// samples grouped by stack, symbolized.
std::string format_stall(const StallReport& report);

std::string_view to_string(StallKind kind);
std::string_view to_string(StallOwner owner);

}  // namespace gs
