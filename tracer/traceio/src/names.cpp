// names.cpp: the lower-case names the CLI and the viewer print. A value this
// reader does not know (a newer minor version, or damage) is "unknown".
#include <array>

#include "greenscope/traceio.h"

namespace gs::traceio {
namespace {

constexpr std::array<std::string_view, kEventTypeCount> kEventTypeNames = {
    "dropped", "hub_start", "hub_stop", "spawn", "rename", "exit", "switch",
    "callbacks_begin", "callbacks_end", "poll_begin", "poll_end", "watcher_begin", "watcher_end",
    "callback_enqueue", "callback_begin", "callback_end", "error", "job_submit", "job_begin",
    "job_end", "job_done", "patched_wait_begin", "patched_wait_end", "timeout_expired",
    "wait_stack", "stall_begin", "stall_sample", "stall_end", "loop_lag", "blocking_call", "crash",
};

constexpr std::array<std::string_view, trace_format::kReasonCount> kReasonNames = {
    "resume", "yield", "sleep", "io", "event", "lock", "queue",
    "join", "idle", "wait", "kill", "timeout", "exit", "loop_exit",
};

constexpr std::array<std::string_view, 4> kExitKindNames = {
    "returned", "failed", "killed", "never_started",
};

constexpr std::array<std::string_view, trace_format::kWatcherKindCount> kWatcherKindNames = {
    "io", "timer", "prepare", "check", "idle", "async", "signal", "child",
};

constexpr std::array<std::string_view, 4> kStallOwnerNames = {"greenlet", "hub", "callback", "watcher"};

constexpr std::array<std::string_view, 2> kStallKindNames = {"cpu-bound", "blocked"};

// name_of() looks `value` up in `names`, "unknown" past its end.
template <std::size_t N>
std::string_view name_of(const std::array<std::string_view, N>& names, std::size_t value) {
  return value < N ? names[value] : std::string_view("unknown");
}

}  // namespace

std::string_view to_string(EventType type) {
  return name_of(kEventTypeNames, static_cast<std::size_t>(type));
}
std::string_view to_string(Reason reason) {
  return name_of(kReasonNames, static_cast<std::size_t>(reason));
}
std::string_view to_string(ExitKind kind) {
  return name_of(kExitKindNames, static_cast<std::size_t>(kind));
}
std::string_view to_string(WatcherKind kind) {
  return name_of(kWatcherKindNames, static_cast<std::size_t>(kind));
}
std::string_view to_string(StallOwner owner) {
  return name_of(kStallOwnerNames, static_cast<std::size_t>(owner));
}
std::string_view to_string(StallKind kind) {
  return name_of(kStallKindNames, static_cast<std::size_t>(kind));
}

std::string command_line(const ProcessInfo& p) {
  if (p.args.empty()) return "(unknown)";
  if (p.args_redacted) {
    const std::size_t n = p.args.size() - 1;
    return p.args[0] + " [" + std::to_string(n) + (n == 1 ? " argument" : " arguments") + " redacted]";
  }
  std::string text;
  for (const std::string& a : p.args) text += (text.empty() ? "" : " ") + a;
  return text;
}

}  // namespace gs::traceio
