#include "greenscope/detail/wait_list.h"

#include "greenscope/errors.h"
#include "hub_impl.h"

namespace gs::detail {

void WaitChain::push_back(WaitNode* node) {
  node->prev = tail;
  node->next = nullptr;
  if (tail != nullptr) tail->next = node;
  else head = node;
  tail = node;
  ++size;
}

void WaitChain::unlink(WaitNode* node) {
  if (node->prev != nullptr) node->prev->next = node->next;
  else head = node->next;
  if (node->next != nullptr) node->next->prev = node->prev;
  else tail = node->prev;
  node->prev = node->next = nullptr;
  --size;
}

WaitList::~WaitList() {
  for (WaitChain* chain : {&waiting_, &notified_}) {
    for (WaitNode* n = chain->head; n != nullptr;) {
      WaitNode* next = n->next;
      n->list = nullptr;
      n->prev = n->next = nullptr;
      n = next;
    }
  }
}

// leave() takes `node` off whichever chain holds it.
void WaitList::leave(WaitNode* node) {
  (node->notified ? notified_ : waiting_).unlink(node);
  node->list = nullptr;
}

bool WaitList::wait(WaitInfo info, Duration timeout) {
  HubImpl& hub = HubImpl::current();
  WaitNode node;
  node.greenlet = hub.running();
  node.list = this;
  waiting_.push_back(&node);
  bool woken = false;
  try {
    woken = hub.block_current(info, timeout);
  } catch (...) {
    // Only node.list, never `this`: the list may be gone by now.
    if (WaitList* list = node.list) {
      list->leave(&node);
      // A notification meant for us must not be lost with us.
      if (node.notified) list->notify_one();
    }
    throw;
  }
  if (WaitList* list = node.list) list->leave(&node);
  // Notified just after our timeout fired: count it as a wake-up, so the
  // caller re-checks its condition instead of dropping the notification.
  return woken || node.notified;
}

bool WaitList::notify_one() {
  WaitNode* node = waiting_.head;
  if (node == nullptr) return false;
  if (&node->greenlet->hub() != HubImpl::current_if_any()) [[unlikely]] {
    throw UsageError(
        "greenscope: a primitive (Event, Queue, Lock...) was signalled from a thread other "
        "than its waiters' hub thread; greenscope primitives are per thread. Signal it from "
        "that thread, e.g. gs::run_callback_threadsafe(hub, [&] { event.set(); })");
  }
  waiting_.unlink(node);
  node->notified = true;
  notified_.push_back(node);
  static_cast<HubImpl&>(node->greenlet->hub()).wake(*node->greenlet);
  return true;
}

void WaitList::notify_all() {
  // The nodes live on their greenlets' stacks: with many waiters each is a
  // cache miss, so the next one is fetched while this one is woken.
  for (WaitNode* node = waiting_.head; node != nullptr; node = waiting_.head) {
    if (WaitNode* next = node->next) {
      __builtin_prefetch(next, 1);
      __builtin_prefetch(next->greenlet);
    }
    notify_one();
  }
}

}  // namespace gs::detail
