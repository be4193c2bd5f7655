// greenlet_base.h: the untyped greenlet that handles (Greenlet<T>,
// GreenletRef) share, and its read-only view for observers (GreenletInfo).
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "greenscope/detail/wait_list.h"
#include "greenscope/types.h"

namespace gs {

class Hub;
class GreenletRef;

namespace detail {
class HubImpl;
class DelayTimer;
}  // namespace detail

// StackRange is the memory a greenlet's stack occupies: [lo, hi). The stack
// grows down from hi. Empty for the thread's main greenlet and for a greenlet
// that has not started yet (stacks are taken from the pool at first run).
struct StackRange {
  std::uintptr_t lo = 0;
  std::uintptr_t hi = 0;
  bool guarded = false;  // a PROT_NONE guard page sits just below lo
  void* slab = nullptr;  // the stack pool's own: the mapping it was carved from
};

enum class GreenletKind : std::uint8_t { User, Main, Hub };

// GreenletInfo is what observers, tools and error handlers may read about a
// greenlet. Only the greenlet's own hub thread may read it while it lives.
class GreenletInfo {
 public:
  std::uint64_t id() const { return id_; }
  // name() is set_name()'s value, or "Greenlet-<id>", "main", "hub". The
  // default is formatted the first time it is asked for: most greenlets
  // never are, and formatting it at spawn cost a heap allocation per
  // greenlet once ids passed 999,999 (the string outgrew its inline room).
  const std::string& name() const {
    if (!own_name_ && name_.empty()) [[unlikely]] name_ = default_name(id_);
    return name_;
  }
  // has_default_name() is true until set_name() names the greenlet (main
  // and hub have their own names). Readers that must not write to the
  // greenlet (another thread, a signal handler) format the default
  // themselves: default_name(id()).
  bool has_default_name() const { return !own_name_; }
  static std::string default_name(std::uint64_t id);
  GreenletState state() const { return state_; }
  GreenletKind kind() const { return kind_; }
  std::uint64_t spawner_id() const { return spawner_id_; }  // 0: none
  const StackRange& stack() const { return stack_; }
  // wait_info() is what the greenlet waits on; meaningful while Waiting.
  const WaitInfo& wait_info() const { return wait_; }
  Hub& hub() const;
  bool started() const { return started_; }

 protected:
  GreenletInfo(GreenletKind kind, detail::HubImpl* hub, std::uint64_t spawner_id);
  ~GreenletInfo() = default;

  const std::uint64_t id_;                        // ro
  const GreenletKind kind_;                       // ro
  detail::HubImpl* const hub_;                    // ro: the owning hub
  const std::uint64_t spawner_id_;                // ro
  mutable std::string name_;                      // rw: set_name(), or name()'s default
  GreenletState state_ = GreenletState::New;      // rw: hub thread only
  bool started_ = false;                          // rw: hub thread only
  bool own_name_ = false;                         // rw: set_name() (or main, hub)
  StackRange stack_;                              // rw: set at first run
  WaitInfo wait_;                                 // rw: set by block()
};

namespace detail {

// GreenletBase is one greenlet: its saved context, stack, state, result
// bookkeeping and links. Typed results live in GreenletImpl<T, F>.
// All members are touched only on the owning hub's thread.
class GreenletBase : public GreenletInfo, public std::enable_shared_from_this<GreenletBase> {
 public:
  GreenletBase(GreenletKind kind, HubImpl* hub, std::uint64_t spawner_id);
  virtual ~GreenletBase();
  GreenletBase(const GreenletBase&) = delete;
  GreenletBase& operator=(const GreenletBase&) = delete;

  // run() executes the greenlet's function and stores its value.
  virtual void run() {}

  // join() waits until the greenlet is dead; false if the timeout passed.
  bool join(Duration timeout);
  // kill() raises GreenletExit in the greenlet (see GreenletRef::kill).
  void kill(bool block, Duration timeout);
  void link(std::function<void(GreenletRef)> callback);
  void set_name(std::string name);

  // check_thread() throws UsageError unless called on this greenlet's hub
  // thread; `what` names the operation in the message. GreenletRef calls it
  // before every operation; the methods above assume it was called.
  void check_thread(const char* what) const;

  bool dead() const { return state_ == GreenletState::Dead; }
  bool killed() const { return killed_; }
  std::exception_ptr error() const { return error_; }

  // local_slot() is the greenlet-local storage slot `key` (see local.h).
  std::shared_ptr<void>& local_slot(std::size_t key);

 private:
  friend class HubImpl;
  friend struct StackAccess;  // runtime/src/introspection/stack_access.h: the saved context, for stack walks
  friend class WaitList;
  friend void start_greenlet(const std::shared_ptr<GreenletBase>& g);
  friend void start_greenlet_later(const std::shared_ptr<GreenletBase>& g, Duration delay);

  // set_state() changes state, aborting on a transition types.h forbids.
  // Inline: it runs twice per switch.
  void set_state(GreenletState next) {
    const unsigned allowed = kAllowedTransitions[static_cast<unsigned>(state_)];
    const bool legal = (allowed & (1u << static_cast<unsigned>(next))) != 0 &&
                       !(state_ == GreenletState::Ready && next == GreenletState::Dead && started_);
    if (!legal) [[unlikely]] illegal_transition(next);
    state_ = next;
  }
  [[noreturn]] void illegal_transition(GreenletState next) const;

  // kAllowedTransitions[from] has bit `to` set for every legal transition.
  static constexpr unsigned kAllowedTransitions[] = {
      /* New     */ (1u << 1) | (1u << 4),             // Ready, Dead
      /* Ready   */ (1u << 2) | (1u << 4),             // Running, Dead (never started)
      /* Running */ (1u << 1) | (1u << 3) | (1u << 4), // Ready, Waiting, Dead
      /* Waiting */ (1u << 1),                         // Ready
      /* Dead    */ 0u,
  };
  void finish_body();
  [[gnu::noinline]] [[gnu::cold]] void die_of_error();
  void die(ExitKind kind, const std::string& error_text = {});

  void* context_ = nullptr;                  // saved fcontext while suspended
  std::shared_ptr<GreenletBase> self_ref_;   // keeps it alive until dead and dequeued
  std::exception_ptr pending_;               // raised at its next resume
  const void* pending_source_ = nullptr;     // the gs::Timeout that set pending_
  SwitchReason pending_reason_ = SwitchReason::Resume;
  bool timed_out_ = false;                   // the last block() hit its timeout
  bool killed_ = false;                      // died of GreenletExit
  std::exception_ptr error_;                 // the exception that escaped run()
  WaitList joiners_;                         // greenlets in join()
  std::vector<std::function<void(GreenletRef)>> links_;
  std::vector<std::shared_ptr<void>> locals_;
  std::unique_ptr<DelayTimer> start_timer_;  // spawn_later's pending start
  void* eh_caught_ = nullptr;                // this greenlet's C++ EH globals
  unsigned eh_uncaught_ = 0;
  void* tsan_fiber_ = nullptr;               // sanitizer builds only
  void* tsan_call_fiber_ = nullptr;          // TSan builds only: its patched calls run there
  void* asan_fake_stack_ = nullptr;
  GreenletBase* live_prev_ = nullptr;        // the hub's list of live greenlets
  GreenletBase* live_next_ = nullptr;
};

static_assert(static_cast<unsigned>(GreenletState::New) == 0 &&
                  static_cast<unsigned>(GreenletState::Ready) == 1 &&
                  static_cast<unsigned>(GreenletState::Running) == 2 &&
                  static_cast<unsigned>(GreenletState::Waiting) == 3 &&
                  static_cast<unsigned>(GreenletState::Dead) == 4,
              "GreenletBase::kAllowedTransitions encodes GreenletState's values");

// next_greenlet_id() hands out process-wide unique ids, starting at 1.
std::uint64_t next_greenlet_id();

}  // namespace detail
}  // namespace gs
