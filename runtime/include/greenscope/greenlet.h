// greenlet.h: spawning greenlets and the handles that refer to them
// (gevent.Greenlet, gevent.spawn, gevent.joinall, gevent.killall).
#pragma once

#include <concepts>
#include <cstdint>
#include <exception>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "greenscope/detail/greenlet_base.h"
#include "greenscope/detail/greenlet_memory.h"
#include "greenscope/errors.h"
#include "greenscope/types.h"

namespace gs {

// GreenletRef is an untyped, copyable handle with shared ownership of a
// greenlet. A greenlet lives until it is dead and every handle is gone; the
// hub holds it while it runs, so dropping all handles does not stop it.
// Every operation except id() must happen on the greenlet's own hub thread.
class GreenletRef {
 public:
  GreenletRef() = default;
  explicit GreenletRef(std::shared_ptr<detail::GreenletBase> g) : g_(std::move(g)) {}

  // join() waits until the greenlet is dead; returns false if `timeout`
  // passed first (at once for 0 or less; NaN is a UsageError: types.h).
  // Joining the current greenlet is a UsageError.
  bool join(Duration timeout = kForever) const;
  // kill() raises GreenletExit in the greenlet at its suspension point so its
  // RAII cleanup runs. A greenlet that has not started yet never runs. With
  // `block` (the default) it then waits, up to `timeout`, for it to die.
  // Killing the current greenlet throws GreenletExit right here.
  void kill(bool block = true, Duration timeout = kForever) const;

  bool started() const;    // it has run (or is running)
  bool ready() const;      // dead: finished, failed or killed
  bool dead() const { return ready(); }
  // successful() is true once it finished without an error; a kill counts as
  // success, as in gevent.
  bool successful() const;
  bool killed() const;     // it died of GreenletExit (or never started)
  // exception() is what escaped its function, or null.
  std::exception_ptr exception() const;
  GreenletState state() const;

  // link() calls `callback(this greenlet)` in the hub when it dies; at once
  // (queued) if it is already dead. An empty callback is a UsageError.
  void link(std::function<void(GreenletRef)> callback) const;

  std::string name() const;
  // set_name() keeps `name` byte for byte: NUL, invalid UTF-8 and control
  // characters included (gevent's names are any str). A trace records its
  // first 2048 bytes as they are; what shows it makes it safe for its
  // output: the CLI escapes control characters and bad UTF-8, the Chrome
  // export escapes JSON, the viewer draws U+FFFD (docs/tracing.md).
  void set_name(std::string name) const;
  std::uint64_t id() const;
  const GreenletInfo& info() const;

  explicit operator bool() const { return g_ != nullptr; }
  friend bool operator==(const GreenletRef& a, const GreenletRef& b) { return a.g_ == b.g_; }

  detail::GreenletBase* base() const { return g_.get(); }

 protected:
  detail::GreenletBase& checked(const char* what) const;

  std::shared_ptr<detail::GreenletBase> g_;
};

namespace detail {

template <class T>
using ResultStorage = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

// GreenletResult<T> stores the value of a greenlet returning T.
template <class T>
class GreenletResult : public GreenletBase {
 public:
  using GreenletBase::GreenletBase;
  std::optional<ResultStorage<T>> value;
};

// GreenletImpl<T, F> runs the bound callable `fn` and keeps its value.
template <class T, class F>
class GreenletImpl final : public GreenletResult<T> {
 public:
  GreenletImpl(HubImpl* hub, std::uint64_t spawner, F fn)
      : GreenletResult<T>(GreenletKind::User, hub, spawner), fn_(std::move(fn)) {}

  void run() override {
    if constexpr (std::is_void_v<T>) {
      fn_();
      this->value.emplace();
    } else {
      this->value.emplace(fn_());
    }
  }

 private:
  F fn_;
};

// The spawn plumbing (hub.cpp / greenlet.cpp).
HubImpl& current_hub();
std::uint64_t current_greenlet_id();
void start_greenlet(const std::shared_ptr<GreenletBase>& g);
void start_greenlet_later(const std::shared_ptr<GreenletBase>& g, Duration delay);
[[noreturn]] void throw_result_of(const GreenletBase& g);

// check_function() throws UsageError naming `call` when `f` is a null
// function pointer or an empty std::function; anything else (a lambda)
// cannot be empty and costs nothing here.
template <class T>
struct IsStdFunction : std::false_type {};
template <class R, class... A>
struct IsStdFunction<std::function<R(A...)>> : std::true_type {};
[[noreturn]] void throw_empty_function(const char* call);
template <class F>
void check_function(const F& f, const char* call) {
  using D = std::remove_cvref_t<F>;  // a function (not a pointer to one) cannot be null
  if constexpr (std::is_pointer_v<D> || std::is_member_pointer_v<D> || IsStdFunction<D>::value) {
    if (!f) [[unlikely]] throw_empty_function(call);
  }
}

template <class F, class... Args>
auto bind_call(F&& f, Args&&... args) {
  return [fn = std::forward<F>(f), tup = std::make_tuple(std::forward<Args>(args)...)]() mutable {
    return std::apply(fn, std::move(tup));
  };
}

// make_greenlet() builds spawn()'s greenlet on the current hub, in a block
// from the thread's greenlet cache (greenlet_memory.h).
template <class T, class Call>
auto make_greenlet(Call&& call) {
  using Impl = GreenletImpl<T, std::remove_cvref_t<Call>>;
  return std::allocate_shared<Impl>(GreenletAllocator<Impl>{}, &current_hub(), current_greenlet_id(),
                                    std::forward<Call>(call));
}

// SpawnResult is what a greenlet keeps of f(args...)'s result: a copy
// (decayed), never a reference that could outlive what it refers to.
template <class F, class... Args>
using SpawnResult = std::decay_t<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>>;

}  // namespace detail

// Greenlet<T> is a GreenletRef that knows its function returns T.
template <class T>
class Greenlet : public GreenletRef {
 public:
  Greenlet() = default;
  explicit Greenlet(std::shared_ptr<detail::GreenletResult<T>> g) : GreenletRef(std::move(g)) {}

  // get() waits for the greenlet and returns its value, or rethrows the
  // exception that escaped it; GreenletExit if it was killed; TimeoutError
  // if `timeout` passed first.
  decltype(auto) get(Duration timeout = kForever) const {
    auto& g = checked("Greenlet::get()");
    if (!g.join(timeout)) throw TimeoutError(timeout);
    auto& typed = static_cast<detail::GreenletResult<T>&>(g);
    if (!typed.value) detail::throw_result_of(g);
    if constexpr (!std::is_void_v<T>) return static_cast<T&>(*typed.value);
  }

  // value() is the result if it finished successfully, else nullopt.
  std::optional<detail::ResultStorage<T>> value() const {
    auto& typed = static_cast<detail::GreenletResult<T>&>(checked("Greenlet::value()"));
    return typed.value;
  }
};

// spawn() creates a greenlet running f(args...) and schedules it to start
// after every greenlet and callback already queued (gevent.spawn). The
// arguments are copied or moved into the greenlet. A null function pointer
// or an empty std::function is a UsageError.
template <class F, class... Args>
Greenlet<detail::SpawnResult<F, Args...>> spawn(F&& f, Args&&... args) {
  using T = detail::SpawnResult<F, Args...>;
  detail::check_function(f, "gs::spawn()");
  auto call = detail::bind_call(std::forward<F>(f), std::forward<Args>(args)...);
  auto g = detail::make_greenlet<T>(std::move(call));
  detail::start_greenlet(g);
  return Greenlet<T>(std::move(g));
}

// spawn_later() is spawn() that starts the greenlet after `delay`: at once
// (as spawn()) for 0 or a negative delay. A delay that never ends (1e9 s or
// more, kForever) or NaN is a UsageError: such a greenlet would never run.
template <class F, class... Args>
Greenlet<detail::SpawnResult<F, Args...>> spawn_later(Duration delay, F&& f, Args&&... args) {
  using T = detail::SpawnResult<F, Args...>;
  detail::check_function(f, "gs::spawn_later()");
  auto call = detail::bind_call(std::forward<F>(f), std::forward<Args>(args)...);
  auto g = detail::make_greenlet<T>(std::move(call));
  detail::start_greenlet_later(g, delay);
  return Greenlet<T>(std::move(g));
}

// joinall() waits until every greenlet is dead or `timeout` passes and
// returns those that finished (gevent.joinall). A timeout of 0 or less
// waits for none; NaN is a UsageError. With `raise_error`, the first
// failed greenlet's exception is rethrown as soon as it is seen.
std::vector<GreenletRef> joinall(const std::vector<GreenletRef>& greenlets,
                                 Duration timeout = kForever, bool raise_error = false);

// killall() kills every greenlet; with `block`, waits up to `timeout` for
// all of them to die.
void killall(const std::vector<GreenletRef>& greenlets, bool block = true,
             Duration timeout = kForever);

// to_refs() turns any range of handles (e.g. std::vector<Greenlet<int>>)
// into the untyped list joinall()/killall() take.
template <class Range>
std::vector<GreenletRef> to_refs(const Range& handles) {
  std::vector<GreenletRef> refs;
  for (const auto& h : handles) refs.push_back(static_cast<const GreenletRef&>(h));
  return refs;
}

template <class Range>
  requires(!std::same_as<Range, std::vector<GreenletRef>>)
std::vector<GreenletRef> joinall(const Range& handles, Duration timeout = kForever,
                                 bool raise_error = false) {
  return joinall(to_refs(handles), timeout, raise_error);
}

template <class Range>
  requires(!std::same_as<Range, std::vector<GreenletRef>>)
void killall(const Range& handles, bool block = true, Duration timeout = kForever) {
  killall(to_refs(handles), block, timeout);
}

}  // namespace gs
