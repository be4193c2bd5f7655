#include "greenscope/detail/wait_list.h"

#include "greenscope/errors.h"
#include "hub_impl.h"

namespace gs::detail {

WaitList::~WaitList() {
  for (WaitNode* n = head_; n != nullptr;) {
    WaitNode* next = n->next;
    n->list = nullptr;
    n->prev = n->next = nullptr;
    n = next;
  }
}

void WaitList::push_back(WaitNode* node) {
  node->list = this;
  node->prev = tail_;
  node->next = nullptr;
  if (tail_ != nullptr) tail_->next = node;
  else head_ = node;
  tail_ = node;
  ++size_;
}

void WaitList::unlink(WaitNode* node) {
  if (node->prev != nullptr) node->prev->next = node->next;
  else head_ = node->next;
  if (node->next != nullptr) node->next->prev = node->prev;
  else tail_ = node->prev;
  node->prev = node->next = nullptr;
  node->list = nullptr;
  --size_;
}

bool WaitList::wait(WaitInfo info, Duration timeout) {
  HubImpl& hub = HubImpl::current();
  WaitNode node;
  node.greenlet = hub.running();
  push_back(&node);
  bool woken = false;
  try {
    woken = hub.block_current(info, timeout);
  } catch (...) {
    if (node.list != nullptr) node.list->unlink(&node);
    // A notification meant for us must not be lost with us.
    if (node.notified) notify_one();
    throw;
  }
  if (node.list != nullptr) node.list->unlink(&node);
  // Notified just after our timeout fired: count it as a wake-up, so the
  // caller re-checks its condition instead of dropping the notification.
  return woken || node.notified;
}

bool WaitList::notify_one() {
  WaitNode* node = head_;
  if (node == nullptr) return false;
  unlink(node);
  node->notified = true;
  static_cast<HubImpl&>(node->greenlet->hub()).wake(*node->greenlet);
  return true;
}

void WaitList::notify_all() {
  while (notify_one()) {
  }
}

}  // namespace gs::detail
