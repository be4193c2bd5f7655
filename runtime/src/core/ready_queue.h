// ready_queue.h: the hub's FIFO of ready greenlets and run_callback()
// callbacks. A ring of 16-byte items: queuing a greenlet allocates nothing;
// only a callback lives in its own heap node.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

namespace gs::detail {

class GreenletBase;

class ReadyQueue {
 public:
  // Item is a greenlet to resume, or (greenlet == nullptr) a callback.
  struct Item {
    GreenletBase* greenlet;
    std::function<void()>* callback;  // owned by the queue until popped
  };

  ReadyQueue() = default;
  ~ReadyQueue() { clear(); }
  ReadyQueue(const ReadyQueue&) = delete;
  ReadyQueue& operator=(const ReadyQueue&) = delete;

  bool empty() const { return head_ == tail_; }
  std::size_t size() const { return tail_ - head_; }

  void push_greenlet(GreenletBase* g) { push(Item{g, nullptr}); }
  void push_callback(std::function<void()> fn) {
    push(Item{nullptr, new std::function<void()>(std::move(fn))});
  }
  // pop() hands ownership of a callback to the caller.
  Item pop() { return items_[head_++ & mask_]; }
  // peek() is the greenlet `ahead` places from the front, or null (a
  // callback, or not that many queued).
  GreenletBase* peek(std::size_t ahead) const {
    return ahead < size() ? items_[(head_ + ahead) & mask_].greenlet : nullptr;
  }
  // clear() drops everything queued (callbacks are destroyed unrun).
  void clear() {
    while (!empty()) delete pop().callback;
  }

 private:
  void push(Item item) {
    if (tail_ - head_ == capacity_) [[unlikely]] grow();
    items_[tail_++ & mask_] = item;
  }
  void grow() {
    const std::size_t capacity = capacity_ == 0 ? 256 : capacity_ * 2;
    auto items = std::make_unique<Item[]>(capacity);
    const std::size_t n = size();
    for (std::size_t i = 0; i < n; ++i) items[i] = items_[(head_ + i) & mask_];
    items_ = std::move(items);
    capacity_ = capacity;
    mask_ = capacity - 1;
    head_ = 0;
    tail_ = n;
  }

  std::unique_ptr<Item[]> items_;
  std::size_t head_ = 0;      // next to pop; indices grow, wrapped by mask_
  std::size_t tail_ = 0;      // next free slot
  std::size_t capacity_ = 0;  // a power of two
  std::size_t mask_ = 0;
};

}  // namespace gs::detail
