// runtime_misc.cpp: names of enum values, error types, options, observer.
#include <cstddef>
#include <cstdint>
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

namespace detail {
std::string number_text(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", value);
  return buf;
}

void throw_nan_timeout(const char* what) {
  throw UsageError(std::string("greenscope: ") + (what != nullptr && *what ? what : "a wait") +
                   ": the timeout is NaN (not a number); pass a duration >= 0 s (0 or less: do not "
                   "wait), or gs::kForever to wait without a limit");
}
}  // namespace detail

namespace {
// check_options() throws UsageError for the first option out of range.
void check_options(const RuntimeOptions& o) {
  auto refuse = [](const std::string& what, const char* how) {
    throw UsageError("greenscope: gs::configure(): " + what + "; " + how);
  };
  if (o.stack_size > kMaxStackSize) {
    refuse("stack_size " + std::to_string(o.stack_size) + " bytes is more than 1 GiB",
           "every greenlet reserves that much address space: 128 KiB is the default, 8 MiB a thread's");
  }
  if (o.threadpool_size == 0 || o.threadpool_size > static_cast<std::size_t>(PTRDIFF_MAX)) {
    refuse("threadpool_size " + std::to_string(o.threadpool_size) + " (0, or a negative number as std::size_t)",
           "the default ThreadPool needs at least 1 thread");
  }
  const double budget = o.callback_budget.count();
  if (!(budget >= 0 && budget <= 60)) {
    refuse("callback_budget " + detail::number_text(budget) + " s is out of range",
           "pass 0 to 60 s (default 1 ms): how long the hub runs ready greenlets before it polls again");
  }
}
}  // namespace

void configure(const RuntimeOptions& opts) {
  check_options(opts);
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
