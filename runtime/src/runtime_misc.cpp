// runtime_misc.cpp: names of enum values, error types, options, observer.
#include <cstdio>
#include <mutex>

#include "greenscope/config.h"
#include "greenscope/errors.h"
#include "greenscope/observer.h"
#include "greenscope/types.h"
#include "hub_impl.h"

namespace gs {

std::string_view to_string(GreenletState state) {
  switch (state) {
    case GreenletState::New: return "new";
    case GreenletState::Ready: return "ready";
    case GreenletState::Running: return "running";
    case GreenletState::Waiting: return "waiting";
    case GreenletState::Dead: return "dead";
  }
  return "?";
}

std::string_view to_string(SwitchReason reason) {
  switch (reason) {
    case SwitchReason::Resume: return "resume";
    case SwitchReason::Yield: return "yield";
    case SwitchReason::Sleep: return "sleep";
    case SwitchReason::Io: return "io";
    case SwitchReason::Event: return "event";
    case SwitchReason::Lock: return "lock";
    case SwitchReason::Queue: return "queue";
    case SwitchReason::Join: return "join";
    case SwitchReason::Idle: return "idle";
    case SwitchReason::Wait: return "wait";
    case SwitchReason::Kill: return "kill";
    case SwitchReason::Timeout: return "timeout";
    case SwitchReason::Exit: return "exit";
    case SwitchReason::LoopExit: return "loop-exit";
  }
  return "?";
}

std::string_view to_string(ExitKind kind) {
  switch (kind) {
    case ExitKind::Returned: return "returned";
    case ExitKind::Failed: return "failed";
    case ExitKind::Killed: return "killed";
    case ExitKind::NeverStarted: return "never-started";
  }
  return "?";
}

std::string_view to_string(WatcherKind kind) {
  switch (kind) {
    case WatcherKind::Io: return "io";
    case WatcherKind::Timer: return "timer";
    case WatcherKind::Prepare: return "prepare";
    case WatcherKind::Check: return "check";
    case WatcherKind::Idle: return "idle";
    case WatcherKind::Async: return "async";
    case WatcherKind::Signal: return "signal";
    case WatcherKind::Child: return "child";
  }
  return "?";
}

namespace {
std::string timeout_message(Duration seconds) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "gs::TimeoutError: timed out after %.6g s", seconds.count());
  return buf;
}

RuntimeOptions g_options;
std::mutex g_options_mutex;
}  // namespace

TimeoutError::TimeoutError(Duration seconds, const void* source)
    : std::runtime_error(timeout_message(seconds)), seconds_(seconds), source_(source) {}

void configure(const RuntimeOptions& opts) {
  std::lock_guard<std::mutex> lock(g_options_mutex);
  g_options = opts;
}

const RuntimeOptions& options() { return g_options; }

namespace detail {
std::atomic<Observer*> g_observer{nullptr};
}

void set_observer(Observer* o) {
  detail::g_observer.store(o, std::memory_order_release);
  detail::set_hook(detail::kHookObserver, o != nullptr);
}
Observer* observer() { return detail::g_observer.load(std::memory_order_acquire); }

}  // namespace gs
