// stall_text.cpp: format_stall() and the texts it is made of.
#include "stall_text.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "greenscope/stall.h"
#include "syscalls.h"

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
  if (!r.thread_name.empty()) out += " '" + r.thread_name + "'";
  out += r.ended ? " was held for " : " has been held for ";
  out += duration_text(r.duration.count()) + " by " + r.culprit + (r.ended ? "" : " (still going)") + "\n";
  out += "  " + std::string(to_string(r.kind));
  if (r.cpu_window.count() > 0) {
    out += ": " + duration_text(r.cpu_time.count()) + " of CPU in " + duration_text(r.cpu_window.count()) +
           " measured";
  }
  if (r.kind == StallKind::Blocked && r.syscall >= 0) out += ", in " + detail::syscall_name(r.syscall) + "()";
  out += "\n";
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
