// hunt_check.h: a planted run's stall report against its truth. The truth
// is what hunt_planted printed (it knows the culprit by construction and
// measured the bad code itself); the report is the trace, read through
// greenscope::traceio and greenscope::analysis as the CLI reads it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "greenscope/traceio.h"

namespace hunt {

namespace traceio = gs::traceio;

// Truth is hunt_planted's "truth ..." line (planted.h says what each means).
struct Truth {
  std::string kind, owner, greenlet, function, expect;
  std::uint64_t greenlet_id = 0;
  std::vector<std::string> calls;  // blocked: the syscalls it may block in
  std::int64_t duration_ns = 0, cpu_ns = 0, call_count = -1;
  std::vector<std::int64_t> runs_ns;
  std::vector<std::uint64_t> run_greenlets;

  double cpu_share() const { return duration_ns > 0 ? static_cast<double>(cpu_ns) / static_cast<double>(duration_ns) : 0; }
};

// parse_truth() reads the truth line from hunt_planted's stdout.
std::optional<Truth> parse_truth(const std::string& out);

// kThresholdNs is the stall monitor's default threshold, which the runs
// keep (GREENSCOPE_STALL_MS is not set, as a user would not set it).
inline constexpr std::int64_t kThresholdNs = 10'000'000;

// Samples counts the planted stall's samples by what they found.
struct Samples {
  std::size_t all = 0;
  std::size_t with_stack = 0;
  std::size_t in_syscall = 0;
  std::size_t inclusive = 0;  // with the truth's function anywhere on the stack
  std::size_t led = 0;        // with it as the innermost frame of the program's own code
  std::vector<std::string> without;  // the first sampled stack without it, one line per scope
  std::size_t truncated = 0;  // stacks without it that stop short of the greenlet's entry or the loop
};

// Finding is what the trace says about one planted run.
struct Finding {
  Truth truth;
  std::unique_ptr<traceio::Trace> trace;
  std::string load_error;
  std::optional<traceio::StallInfo> planted;  // the stall whose culprit is the truth's
  std::vector<traceio::StallInfo> others;      // every other stall
  Samples samples;
  std::string culprit;                         // as the report names it (analysis::culprit_name)
  double duration_error = 0;                   // (report - truth) / truth
  // Loop lag inside the planted window (rare-yields: the renderers' lives).
  std::size_t lags = 0;
  std::int64_t lag_ns = 0;
  // rare-yields: stalls whose culprit is a renderer.
  std::size_t renderer_stalls = 0;
};

Finding examine(const Truth& truth, const std::string& trace_path);

// today_kind() is the stall's kind as the report says it today:
// "cpu-bound", "blocked in read" (the syscall named from its number).
std::string today_kind(const traceio::StallInfo& s);

// syscall_name() is traceio::syscall_name(): "read", "futex", "syscall N".
std::string syscall_name(int nr);

// Problem is one way the report disagrees with the truth. `waits_for`
// names the missing piece when today's main cannot pass the check yet
// (the test then skips, naming it); "" for a plain failure.
struct Problem {
  std::string text;
  std::string waits_for;
};

// problems() lists where the report disagrees with the truth: empty when
// every check of issue 13 holds.
std::vector<Problem> problems(const Finding& f);

// Missing pieces problems() can name.
inline constexpr const char* kWaitsForVerdicts =
    "the verdicts work (branch verdicts): verdicts by where the time went and the per-stall function summary";
inline constexpr const char* kWaitsForStarved =
    "the verdicts work (branch verdicts): a stall of a thread kept off the CPU by a loaded machine (runnable, "
    "not running) said to be starved, not cpu-bound";
inline constexpr const char* kWaitsForStarvedSamples =
    "the runtime: a sample the stalled thread does not take within 20 ms (kept off the CPU) is withdrawn "
    "(monitor.cpp, sample_thread), so a starved CPU-bound stall can have no stack at all (seen: 3 % CPU over "
    "120 ms, no sample)";
inline constexpr const char* kWaitsForHubFound =
    "the runtime: a stall the monitor thread (itself kept off the CPU) saw late or not at all carries its CPU "
    "time over a sliver of it or none, and no stack, so a loaded machine's stall cannot be told from the "
    "program's";
inline constexpr const char* kWaitsForEnd =
    "the runtime and tracer: a stall's begin and end reach the trace through the monitor and gs-reporter "
    "threads; on a loaded machine the program can exit (and the trace stop) before they do, and the trace "
    "then lacks the stall, or says it was still going at the end (no verdict, a duration to the trace's end)";
inline constexpr const char* kWaitsForProcUnwind =
    "the runtime: a blocked thread's stack unwound from /proc's stack pointer and pc alone stops early in "
    "code built with frame pointers (docs/stalls.md, Limits; ASan builds), short of the planted function";
inline constexpr const char* kWaitsForTsanSignals =
    "ThreadSanitizer: a signal's handler runs only at the thread's next call TSan intercepts (docs/stalls.md, "
    "Limits), so a loop that calls nothing TSan intercepts is never sampled";
inline constexpr const char* kWaitsForFewSamples =
    "the verdicts: a blocked stall with fewer than kSamplesToShare samples, one of them \"running\", is "
    "judged starved (100 % waiting for a CPU) though the thread slept in fdatasync";
inline constexpr const char* kWaitsForLagWithStalls =
    "the runtime: no loop lag is recorded for a poll gap in which any stall happened (monitor.cpp, "
    "beat_poll_begin), so a few runs stretched past the threshold hide all the lag";

// hunt_verdicts.cpp: the checks that need the verdicts work
// (traceio::stall_verdict(), analysis::summarize_stall()); without it in
// main, verdict_problems() checks nothing (hunt_test.cpp's
// VerdictChecks.AreActive says so, skipped).
bool have_verdicts();
std::vector<Problem> verdict_problems(const Finding& f);
bool verdict_says_starved(const traceio::Trace& trace, const traceio::StallInfo& s);
// verdict_text() is the verdict as the report gives it ("blocked in read",
// "mixed: 18 % CPU, ..."); today's kind without the verdicts work.
std::string verdict_text(const traceio::Trace& trace, const traceio::StallInfo& s);
// summary_line() is the planted stall's summary line, "" without it.
std::string summary_line(const Finding& f);

// gevent_would_report() says what gevent's monitor thread would have
// reported for the same kind and duration: it checks every 100 ms
// (max_blocking_time) whether any greenlet switched since its last check,
// and if none did while a greenlet other than the hub ran, prints the hub
// thread's Python stack once. It reports the threshold, not the duration,
// never sees the hub's own callbacks, and sees no native frames.
std::string gevent_would_report(const Truth& t);

}  // namespace hunt
