// wait_list.h: the FIFO list of suspended greenlets that every primitive
// (Event, Queue, Semaphore, join) is built on.
#pragma once

#include <cstddef>

#include "greenscope/detail/deadline.h"
#include "greenscope/types.h"

namespace gs::detail {

class GreenletBase;
class WaitList;

// WaitNode lives on the waiting greenlet's stack for the length of one wait.
struct WaitNode {
  GreenletBase* greenlet = nullptr;  // ro: the waiter
  WaitNode* prev = nullptr;          // rw: owned by the list
  WaitNode* next = nullptr;          // rw: owned by the list
  WaitList* list = nullptr;          // rw: the list holding it; nullptr once out
  bool notified = false;             // rw: set by notify_one/notify_all
};

// WaitChain is an intrusive doubly-linked FIFO of WaitNodes.
struct WaitChain {
  WaitNode* head = nullptr;
  WaitNode* tail = nullptr;
  std::size_t size = 0;
  void push_back(WaitNode* node);
  void unlink(WaitNode* node);
};

// WaitList is a FIFO of greenlets waiting for one condition. Waiters re-check
// the condition after waking (nothing is handed over), so a wake that races
// a kill or a timeout loses nothing: a notified waiter that leaves by an
// exception passes its notification to the next waiter.
// A notified waiter stays on a second chain until it runs, so that the list
// may be destroyed once it notified everyone (as a std::condition_variable
// may): the destructor orphans every node it still holds, and no waiter
// touches the list again.
// A WaitList belongs to one hub (one OS thread).
class WaitList {
 public:
  WaitList() = default;
  // ~WaitList() orphans remaining waiters (notified or not) so that they
  // never touch the destroyed list; un-notified ones stay suspended (LoopExit
  // can then report them).
  ~WaitList();
  WaitList(const WaitList&) = delete;
  WaitList& operator=(const WaitList&) = delete;

  // wait() suspends the current greenlet until notify_one()/notify_all()
  // picks it or the timeout passes. Returns true if notified, false on
  // timeout. Rethrows a kill (GreenletExit) or a gs::Timeout that arrives
  // meanwhile. After a true return the caller may find its primitive
  // destroyed only if its owner allows that (Event does). Must not be called
  // from the hub greenlet.
  bool wait(WaitInfo info, Duration timeout = kForever);

  // wait_until() waits, re-checking `ready()` after every wake, until it
  // holds (true) or `timeout` passes (false). Every primitive's blocking
  // call is this loop over its own condition.
  template <class Ready>
  bool wait_until(Ready ready, WaitInfo info, Duration timeout = kForever) {
    const Deadline deadline(timeout, info.what);
    while (!ready()) {
      if (deadline.expired()) return false;
      wait(info, deadline.remaining());
    }
    return true;
  }

  // notify_one() wakes the longest waiter; returns false if there was none.
  bool notify_one();
  // notify_all() wakes every waiter.
  void notify_all();

  // empty()/size() count waiters not yet notified.
  bool empty() const { return waiting_.head == nullptr; }
  std::size_t size() const { return waiting_.size; }

 private:
  void leave(WaitNode* node);

  WaitChain waiting_;
  WaitChain notified_;
};

}  // namespace gs::detail
