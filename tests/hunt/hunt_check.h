// hunt_check.h: a planted run's stall report against its truth. The truth
// is what hunt_planted printed (it knows the culprit by construction and
// measured the bad code itself); the report is the trace, read through
// greenscope::traceio and greenscope::analysis as the CLI reads it.
#pragma once

#include <cstdint>
#include <map>
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
  std::vector<std::int64_t> runs_ns, run_bounds_ns;
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
  // rare-yields: stalls whose culprit is a renderer, by renderer id.
  std::map<std::uint64_t, std::size_t> renderer_stalls;

  std::size_t renderer_stall_count() const {
    std::size_t n = 0;
    for (const auto& [id, stalls] : renderer_stalls) n += stalls;
    return n;
  }
};

Finding examine(const Truth& truth, const std::string& trace_path);


// Problem is one way the report disagrees with the truth. `limit` names a
// sanitizer's known limit that makes the check meaningless in that build
// (the test then skips, naming it); "" for a plain failure.
struct Problem {
  std::string text;
  std::string limit;
  bool from_stacks = false;  // judged from the sampled stacks (a sanitizer may have none)
};

// problems() lists where the report disagrees with the truth: empty when
// every check of issue 13 holds.
std::vector<Problem> problems(const Finding& f);

// The sanitizer limits problems() can name.
inline constexpr const char* kProcUnwindUnderAsan =
    "AddressSanitizer: a blocked thread's stack unwound from /proc's stack pointer and pc alone stops early in "
    "code built with frame pointers (docs/stalls.md, Limits), short of the planted function";
inline constexpr const char* kTsanSignals =
    "ThreadSanitizer: a signal's handler runs only at the thread's next call TSan intercepts (docs/stalls.md, "
    "Limits), so a loop that calls nothing TSan intercepts is never sampled";

// hunt_verdicts.cpp: the verdict (traceio::stall_verdict()) and the
// summary line (analysis::summarize_stall()) against the truth.
std::vector<Problem> verdict_problems(const Finding& f);
bool verdict_says_starved(const traceio::Trace& trace, const traceio::StallInfo& s);
// verdict_text() is the verdict as the report gives it ("blocked in read",
// "mixed: 18 % CPU, ...").
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
