// stall_text.cpp: format_stall() and the texts it is made of.
#include "stall_text.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "greenscope/detail/own_fd_table.h"
#include "greenscope/function_summary.h"
#include "greenscope/stall.h"
#include "greenscope/stall_verdict.h"
#include "greenscope/symbols.h"
#include "shown.h"

namespace gs::detail {

std::string stack_text(const std::uintptr_t* pcs, std::size_t n, const char* indent) {
  return format_stack(StackTrace(pcs, pcs + n), indent);
}

std::string duration_text(std::int64_t ns) {
  char buf[32];
  if (ns >= 1'000'000'000) std::snprintf(buf, sizeof buf, "%.2f s", static_cast<double>(ns) / 1e9);
  else if (ns >= 1'000'000) std::snprintf(buf, sizeof buf, "%.1f ms", static_cast<double>(ns) / 1e6);
  else std::snprintf(buf, sizeof buf, "%lld us", static_cast<long long>(ns / 1000));
  return buf;
}

namespace {

// function_summary() sums the report's samples up by function (symbols/
// function_summary.h), symbolized in this process.
symbols::FunctionSummary function_summary(const StallReport& r) {
  return on_full_stack_value<symbols::FunctionSummary>([&r] {
    symbols::FunctionSummaryBuilder b;
    const std::shared_ptr<symbols::Symbolizer> symbolizer = symbolizer_for_this_thread();
    for (const StallSample& s : r.samples) {
      symbols::SampledStack stack;
      for (const std::uintptr_t pc : s.stack) {
        const symbols::Location where = symbolizer ? symbolizer->lookup(pc) : symbols::Location{};
        const std::string module = where.module != nullptr ? where.module->path : std::string();
        if (where.scopes.empty()) {
          stack.push_back({symbols::describe(pc, where), "", 0, module});
          continue;
        }
        for (const symbols::Scope& scope : where.scopes)
          stack.push_back({scope.function.empty() ? symbols::describe(pc, symbols::Location{where.module, where.offset, {}})
                                                  : scope.function,
                           scope.file, scope.line, module});
      }
      b.add(stack);
    }
    return b.finish();
  });
}

// judge_by_names() is the report's verdict, each sample's innermost frame
// symbolized to see whether it is in a syscall's wrapper.
verdict::Verdict judge_by_names(const StallReport& r) {
  return on_full_stack_value<verdict::Verdict>([&r] {
    const std::shared_ptr<symbols::Symbolizer> symbolizer = symbolizer_for_this_thread();
    const auto call_of = [&symbolizer](const StallSample& s) {
      if (s.stack.empty() || !symbolizer) return verdict::kNoCall;
      const symbols::Location where = symbolizer->lookup(s.stack.front());
      return where.scopes.empty() ? verdict::kNoCall : verdict::syscall_of_function(where.scopes.front().function);
    };
    return verdict::judge(measured(r), r.samples, call_of);
  });
}

}  // namespace

}  // namespace gs::detail

namespace gs {

std::string_view to_string(StallKind kind) { return kind == StallKind::CpuBound ? "cpu-bound" : "blocked"; }

std::string_view to_string(StallOwner owner) {
  switch (owner) {
    case StallOwner::Greenlet: return "greenlet";
    case StallOwner::Hub: return "hub";
    case StallOwner::Callback: return "callback";
    case StallOwner::Watcher: return "watcher";
  }
  return "?";
}

// format_stall() prints the stall, then its samples grouped by stack, the
// most frequent first, so a long stall shows where its time went.
std::string format_stall(const StallReport& r) {
  using detail::duration_text;
  std::string out = "greenscope: stall: thread " + std::to_string(r.tid);
  if (!r.thread_name.empty()) out += " '" + detail::shown(r.thread_name) + "'";
  out += r.ended ? " was held for " : " has been held for ";
  out += duration_text(r.duration.count()) + " by " + detail::shown(r.culprit) + (r.ended ? "" : " (still going)") + "\n";
  // The verdict is judged again here: a report made by hand has none set.
  out += "  " + verdict::text(detail::judge_by_names(r));
  if (r.cpu_window.count() > 0) {
    out += " (" + duration_text(r.cpu_time.count()) + " of CPU in " + duration_text(r.cpu_window.count()) +
           " measured";
    out += ")";
  }
  out += "\n";
  const symbols::FunctionSummary functions = detail::function_summary(r);
  if (functions.samples > 0) out += "  in " + functions.line() + "\n";
  std::map<StackTrace, int> groups;
  int empty = 0;
  for (const StallSample& s : r.samples) {
    if (s.stack.empty()) ++empty;
    else ++groups[s.stack];
  }
  std::vector<std::pair<int, const StackTrace*>> order;
  for (const auto& [stack, count] : groups) order.emplace_back(count, &stack);
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  const std::size_t total = r.samples.size();
  for (const auto& [count, stack] : order) {
    out += "  " + std::to_string(count) + " of " + std::to_string(total) + " sample(s):\n";
    out += format_stack(*stack, "      ");
  }
  if (empty > 0) out += "  " + std::to_string(empty) + " sample(s) could not be taken (mid-switch or unreadable)\n";
  if (total == 0) out += "  (no stack sampled: it ended before the monitor thread got to run)\n";
  return out;
}

}  // namespace gs
