// signal.cpp: gs::signal_handler() on libev's ev_signal.
#include "greenscope/signal.h"

#include <ev.h>
#include <string.h>

#include <csignal>
#include <mutex>
#include <set>
#include <string>

#include "greenscope/errors.h"
#include "greenscope/greenlet.h"
#include "hub_impl.h"

namespace gs::detail {

namespace {
// libev lets a signal be watched by one loop at a time and aborts on a
// second; this set turns that into a UsageError.
std::mutex g_signals_mutex;
std::set<int> g_signals;
}  // namespace

struct SignalWatch {
  HubImpl* hub = nullptr;
  std::function<void()> fn;
  ev_signal watcher;

  static void on_signal(struct ev_loop*, ev_signal* w, int revents) {
    auto* self = static_cast<SignalWatch*>(w->data);
    WatcherScope scope(*self->hub, WatcherKind::Signal, w, -1, revents);
    auto g = gs::spawn(self->fn);
    g.set_name(std::string("signal handler ") + ::sigabbrev_np(w->signum));
  }
};

}  // namespace gs::detail

namespace gs {

SignalHandler signal_handler(int signo, std::function<void()> fn) {
  if (signo <= 0 || signo >= NSIG || ::sigabbrev_np(signo) == nullptr) {
    throw UsageError("gs::signal_handler(" + std::to_string(signo) + "): not a signal number");
  }
  if (signo == SIGKILL || signo == SIGSTOP) {
    throw UsageError("gs::signal_handler(): SIGKILL and SIGSTOP cannot be caught");
  }
  if (!fn) throw UsageError("gs::signal_handler(): pass a function to run");
  {
    std::lock_guard<std::mutex> lock(detail::g_signals_mutex);
    if (!detail::g_signals.insert(signo).second) {
      throw UsageError(std::string("gs::signal_handler(SIG") + ::sigabbrev_np(signo) +
                       "): the signal already has a handler; cancel() the first SignalHandler before "
                       "registering another");
    }
  }
  auto watch = std::make_unique<detail::SignalWatch>();
  watch->hub = &detail::HubImpl::current();
  watch->fn = std::move(fn);
  ev_signal_init(&watch->watcher, &detail::SignalWatch::on_signal, signo);
  watch->watcher.data = watch.get();
  ev_signal_start(watch->hub->ev(), &watch->watcher);
  ev_unref(watch->hub->ev());
  return SignalHandler(std::move(watch));
}

SignalHandler::SignalHandler(std::unique_ptr<detail::SignalWatch> watch) : watch_(std::move(watch)) {}

SignalHandler::~SignalHandler() { cancel(); }

SignalHandler::SignalHandler(SignalHandler&& other) noexcept = default;

SignalHandler& SignalHandler::operator=(SignalHandler&& other) noexcept {
  if (this != &other) {
    cancel();
    watch_ = std::move(other.watch_);
  }
  return *this;
}

int SignalHandler::signal() const { return watch_ ? watch_->watcher.signum : 0; }

void SignalHandler::cancel() {
  if (!watch_) return;
  if (detail::HubImpl::current_if_any() != watch_->hub) {
    throw UsageError("gs::SignalHandler::cancel(): call it on the thread that registered the handler");
  }
  const int signo = watch_->watcher.signum;
  ev_ref(watch_->hub->ev());
  ev_signal_stop(watch_->hub->ev(), &watch_->watcher);
  watch_.reset();
  std::lock_guard<std::mutex> lock(detail::g_signals_mutex);
  detail::g_signals.erase(signo);
}

}  // namespace gs
