// stalls.cpp: finish_stalls(), completing the stalls the extension events
// began (load_state.h), and the one problem for stack ids no Stacks chunk
// defined.
#include <algorithm>
#include <string>

#include "load_state.h"

namespace gs::traceio::detail {
namespace {

// known_end() is how far a stall is known to have lasted: its end if it
// ended; else its StallEnd record (the monitor stopped while it went on),
// else the end of the trace (the process died or was cut off stalled); and
// at least its last sample.
std::int64_t known_end(const StallInfo& s, const std::map<std::uint64_t, std::int64_t>& end_records,
                       std::int64_t trace_end_ns) {
  if (s.ended()) return s.end_ns;
  const auto record = end_records.find(s.id);
  std::int64_t end = record != end_records.end() ? record->second : trace_end_ns;
  if (!s.samples.empty()) end = std::max(end, s.samples.back().time_ns);
  return end;
}

void report_missing_stacks(LoadState& state) {
  if (state.missing_stacks.empty()) return;
  const std::size_t n = state.missing_stacks.size();
  state.problem(state.first_missing_stack_offset,
                std::to_string(n) + " stack id" + (n == 1 ? "" : "s") + " (such as " +
                    std::to_string(*state.missing_stacks.begin()) +
                    ") used by events but not defined by any Stacks chunk (lost, or the file was cut "
                    "before it was written); those stacks show as lost");
}

}  // namespace

std::vector<StallInfo> finish_stalls(LoadState& state, std::int64_t trace_end_ns) {
  report_missing_stacks(state);
  return stall_list(std::move(state.stalls), state.stall_end_records, trace_end_ns);
}

std::vector<StallInfo> stall_list(std::map<std::uint64_t, StallInfo> by_id,
                                  const std::map<std::uint64_t, std::int64_t>& end_records,
                                  std::int64_t trace_end_ns) {
  std::vector<StallInfo> stalls;
  stalls.reserve(by_id.size());
  for (auto& [id, s] : by_id) {
    std::stable_sort(s.samples.begin(), s.samples.end(),
                     [](const StallSampleInfo& x, const StallSampleInfo& y) { return x.time_ns < y.time_ns; });
    if (!s.has_begin && !s.samples.empty()) s.start_ns = std::min(s.start_ns, s.samples.front().time_ns);
    s.duration_ns = std::max<std::int64_t>(0, known_end(s, end_records, trace_end_ns) - s.start_ns);
    stalls.push_back(std::move(s));
  }
  std::stable_sort(stalls.begin(), stalls.end(),
                   [](const StallInfo& x, const StallInfo& y) { return x.start_ns < y.start_ns; });
  return stalls;
}

}  // namespace gs::traceio::detail

namespace gs::traceio {

namespace {

// measured() is what the monitor measured; nothing for a stall without an
// end (its samples alone judge it).
verdict::Measured measured(const StallInfo& stall) {
  if (!stall.has_end) return {};
  return {stall.cpu_ns, stall.cpu_window_ns, stall.run_delay_ns, stall.duration_ns, stall.threshold_ns};
}

}  // namespace

verdict::Verdict stall_verdict(const StallInfo& stall) { return verdict::judge(measured(stall), stall.samples); }

verdict::Verdict stall_verdict(const Trace& trace, const StallInfo& stall) {
  // A sample's innermost frame, as the writer named it, may be a syscall's wrapper.
  const auto call_of = [&trace](const StallSampleInfo& s) {
    const std::vector<std::uint64_t>* frames = trace.stack(s.stack);
    if (frames == nullptr || frames->empty()) return verdict::kNoCall;
    const std::vector<SymbolScope>* scopes = trace.symbols(frames->front());
    if (scopes == nullptr || scopes->empty()) return verdict::kNoCall;
    return verdict::syscall_of_function(scopes->front().function);
  };
  return verdict::judge(measured(stall), stall.samples, call_of);
}

std::string syscall_name(int nr) { return trace_format::syscall_name(nr); }

}  // namespace gs::traceio
