// hunt_verdicts.cpp: the checks of issue 13 on the report's words: the
// verdict by where the time went (traceio::stall_verdict(): cpu-bound;
// blocked and in which call; mixed with the shares; starved when the
// machine made the stall) and the summary line that names the culprit
// function, led by the program's own code (analysis::summarize_stall()).
#include <algorithm>
#include <cmath>

#include "greenscope/analysis/stack_names.h"
#include "greenscope/analysis/stall_model.h"
#include "greenscope/stall_verdict.h"
#include "hunt_check.h"

namespace hunt {

namespace {

namespace analysis = gs::analysis;
namespace verdict = gs::verdict;

std::string pct(double share) { return std::to_string(static_cast<int>(std::lround(share * 100))) + " %"; }

bool listed(const std::vector<std::string>& calls, int nr) {
  return std::find(calls.begin(), calls.end(), verdict::call_name(nr)) != calls.end();
}

bool names(const std::string& scope, const std::string& name) {
  for (std::size_t at = scope.find(name); at != std::string::npos; at = scope.find(name, at + 1)) {
    const std::size_t end = at + name.size();
    if ((at == 0 || scope[at - 1] == ':') && (end == scope.size() || scope[end] == '(' || scope[end] == ' '))
      return true;
  }
  return false;
}

// expected_kinds() are the verdicts the truth allows. A CPU-bound bug is
// cpu-bound, however loaded the machine: its own CPU time is over the
// threshold (the planted computations are sized in CPU time). Starved
// (stall_verdict.h: the thread's own time under the threshold) is right
// only for a bug that by the program's clock spent under the threshold on
// the CPU; near the threshold both are.
std::vector<verdict::VerdictKind> expected_kinds(const Truth& t) {
  using K = verdict::VerdictKind;
  const double cpu = t.cpu_share();
  if (t.kind == "sqlite") {
    // Blocked up to a fifth on the CPU, cpu-bound from four fifths, mixed
    // between (kDominant), by the program's own clock.
    std::vector<K> out;
    if (cpu <= 0.25) out.push_back(K::Blocked);
    if (cpu >= 0.15 && cpu <= 0.85) out.push_back(K::Mixed);
    if (cpu >= 0.75) out.push_back(K::CpuBound);
    return out;
  }
  if (t.expect == "blocked") return {K::Blocked};
  std::vector<K> out;
  if (t.cpu_ns >= kThresholdNs * 8 / 10) out.push_back(K::CpuBound);
  if (t.cpu_ns <= kThresholdNs * 12 / 10) out.push_back(K::Starved);
  return out;
}

}  // namespace

bool verdict_says_starved(const traceio::Trace& trace, const traceio::StallInfo& s) {
  return traceio::stall_verdict(trace, s).kind == verdict::VerdictKind::Starved;
}

std::string verdict_text(const traceio::Trace& trace, const traceio::StallInfo& s) {
  return verdict::text(traceio::stall_verdict(trace, s));
}

std::string summary_line(const Finding& f) {
  if (!f.trace || !f.planted) return "";
  analysis::StackNames names_of(*f.trace);
  return analysis::summarize_stall(*f.trace, names_of, *f.planted).line();
}

std::vector<Problem> verdict_problems(const Finding& f) {
  std::vector<Problem> out;
  if (!f.trace || !f.planted) return out;
  const Truth& t = f.truth;
  analysis::StackNames names_of(*f.trace);
  const analysis::StallSummary summary = analysis::summarize_stall(*f.trace, names_of, *f.planted);
  const verdict::Verdict& v = summary.verdict;
  const std::string said = "the report says \"" + summary.line() + "\"";
  // The culprit function, in the summary line, whatever library it is in.
  const gs::symbols::FunctionRow* culprit = summary.functions.culprit_row();
  if (culprit == nullptr || !names(culprit->function, t.function))
    out.push_back({"the summary's culprit is " + (culprit ? culprit->function : std::string("none")) + ", not " +
                       t.function + ": " + said,
                   "", true});
  // The verdict.
  const std::vector<verdict::VerdictKind> allowed = expected_kinds(t);
  if (std::find(allowed.begin(), allowed.end(), v.kind) == allowed.end()) {
    out.push_back({"verdict " + verdict::text(v) + ", but the program measured " + pct(t.cpu_share()) +
                       " of its time on the CPU (" + t.expect + "): " + said,
                   ""});
  } else if (v.kind == verdict::VerdictKind::Blocked) {
    // In which call: the dominant one, or the largest share.
    const int call = v.syscall != verdict::kNoCall ? v.syscall : v.syscalls.empty() ? verdict::kNoCall : v.syscalls.front().syscall;
    if (!listed(t.calls, call))
      out.push_back({"blocked in " + verdict::call_name(call) + ", but it blocks in " + t.calls.front() + ": " + said, ""});
  } else if (v.kind == verdict::VerdictKind::Mixed) {
    // Mixed with shares: the CPU share as the program measured it, and the
    // sync among the calls.
    if (std::abs(v.cpu - t.cpu_share()) > 0.15)
      out.push_back({"mixed with " + pct(v.cpu) + " CPU, the program measured " + pct(t.cpu_share()) + ": " + said, ""});
    const bool syncs = std::any_of(v.syscalls.begin(), v.syscalls.end(),
                                   [&t](const verdict::SyscallShare& c) { return listed(t.calls, c.syscall); });
    if (!syncs) out.push_back({"mixed, but no share in " + t.calls.front() + ": " + said, ""});
  }
  return out;
}


}  // namespace hunt
