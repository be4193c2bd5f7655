// signal.h: Unix signals delivered to a greenlet (gevent.signal_handler).
#pragma once

#include <functional>
#include <memory>

namespace gs {

namespace detail {
struct SignalWatch;
}

// SignalHandler is the registration signal_handler() returns; destroying it
// (or cancel()) stops handling the signal and restores the default action.
class [[nodiscard]] SignalHandler {
 public:
  SignalHandler() = default;
  ~SignalHandler();
  SignalHandler(SignalHandler&&) noexcept;
  SignalHandler& operator=(SignalHandler&&) noexcept;
  SignalHandler(const SignalHandler&) = delete;
  SignalHandler& operator=(const SignalHandler&) = delete;

  int signal() const;
  // cancel() must run on the thread that registered the handler.
  void cancel();
  bool active() const { return watch_ != nullptr; }

 private:
  friend SignalHandler signal_handler(int, std::function<void()>);
  explicit SignalHandler(std::unique_ptr<detail::SignalWatch> watch);
  std::unique_ptr<detail::SignalWatch> watch_;
};

// signal_handler() runs `fn` in a new greenlet of the calling thread's hub
// each time `signo` arrives (an ev_signal watcher, so the handler itself runs
// no user code in signal context). A number that names no signal (0,
// negative, NSIG and up), SIGKILL, SIGSTOP and an empty `fn` are
// UsageErrors. A signal can have one handler in the
// process at a time: a second registration throws UsageError. The watcher
// does not keep the loop alive by itself (gevent's ref=False).
SignalHandler signal_handler(int signo, std::function<void()> fn);

}  // namespace gs
