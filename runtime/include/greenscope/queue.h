// queue.h: gevent.queue for C++: Queue<T> (FIFO, optionally bounded) and
// Channel<T> (unbuffered rendezvous).
#pragma once

#include <cstddef>
#include <deque>
#include <utility>

#include "greenscope/detail/wait_list.h"
#include "greenscope/errors.h"
#include "greenscope/types.h"

namespace gs {

// Queue<T> passes items between greenlets in FIFO order. maxsize 0 means
// unbounded (gevent: Queue(0) and Queue(None)); otherwise put() waits while
// the queue holds maxsize items. A negative int passed as maxsize arrives as
// a huge std::size_t: unbounded too, as gevent's Queue(-1).
// task_done()/join() track completion as gevent.queue.JoinableQueue does.
template <class T>
class Queue {
 public:
  explicit Queue(std::size_t maxsize = 0) : maxsize_(maxsize) {}
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;

  // put() appends `item`, waiting up to `timeout` for room; throws Full if
  // none appeared. A timeout of 0 or less never waits; NaN is a UsageError.
  void put(T item, Duration timeout = kForever) {
    if (!putters_.wait_until([this] { return !full(); }, WaitInfo{SwitchReason::Queue, this, "Queue.put()"},
                             timeout)) {
      throw Full();
    }
    items_.push_back(std::move(item));
    ++unfinished_;
    getters_.notify_one();
  }
  void put_nowait(T item) { put(std::move(item), Duration::zero()); }

  // get() removes and returns the oldest item, waiting up to `timeout` for
  // one; throws Empty if none arrived. A timeout of 0 or less never waits;
  // NaN is a UsageError.
  T get(Duration timeout = kForever) {
    if (!getters_.wait_until([this] { return !items_.empty(); },
                             WaitInfo{SwitchReason::Queue, this, "Queue.get()"}, timeout)) {
      throw Empty();
    }
    T item = std::move(items_.front());
    items_.pop_front();
    putters_.notify_one();
    return item;
  }
  T get_nowait() { return get(Duration::zero()); }

  // task_done() marks one item taken by get() as processed.
  void task_done() {
    if (unfinished_ == 0) {
      throw UsageError("greenscope: Queue::task_done() called more times than items were put");
    }
    if (--unfinished_ == 0) joiners_.notify_all();
  }
  // join() waits until every item put has been marked task_done(); false on
  // timeout.
  bool join(Duration timeout = kForever) {
    return joiners_.wait_until([this] { return unfinished_ == 0; },
                               WaitInfo{SwitchReason::Queue, this, "Queue.join()"}, timeout);
  }

  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  bool full() const { return maxsize_ != 0 && items_.size() >= maxsize_; }
  std::size_t maxsize() const { return maxsize_; }
  std::size_t unfinished_tasks() const { return unfinished_; }
  std::size_t getters_waiting() const { return getters_.size(); }
  std::size_t putters_waiting() const { return putters_.size(); }

 private:
  std::deque<T> items_;
  std::size_t maxsize_;
  std::size_t unfinished_ = 0;
  detail::WaitList getters_;
  detail::WaitList putters_;
  detail::WaitList joiners_;
};

// Channel<T> is an unbuffered queue: put() returns only once a get() has
// taken the item (gevent.queue.Channel).
template <class T>
class Channel {
 public:
  Channel() = default;
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // put() offers `item` and waits until a getter takes it; throws Full if
  // none did within `timeout`. With a timeout of 0 (or negative) it succeeds
  // only if a getter is already waiting (it then waits for that handover).
  void put(T item, Duration timeout = kForever) {
    if (detail::timeout_seconds(timeout, "Channel.put()") == 0) {
      if (getters_.empty()) throw Full();
      timeout = kForever;
    }
    Offer offer(&item);
    offers_.push_back(&offer);
    getters_.notify_one();
    try {
      if (!offer.done.wait_until([&offer] { return offer.taken; },
                                 WaitInfo{SwitchReason::Queue, this, "Channel.put()"}, timeout)) {
        throw Full();
      }
    } catch (...) {
      if (!offer.taken) withdraw(&offer);
      throw;
    }
  }

  // get() takes the oldest offered item, waiting up to `timeout` for a
  // putter; throws Empty if none came. A timeout of 0 or less never waits.
  T get(Duration timeout = kForever) {
    if (!getters_.wait_until([this] { return !offers_.empty(); },
                             WaitInfo{SwitchReason::Queue, this, "Channel.get()"}, timeout)) {
      throw Empty();
    }
    Offer* offer = offers_.front();
    offers_.pop_front();
    T item = std::move(*offer->item);
    offer->taken = true;
    offer->done.notify_one();
    return item;
  }

  std::size_t getters_waiting() const { return getters_.size(); }
  std::size_t putters_waiting() const { return offers_.size(); }

 private:
  struct Offer {
    explicit Offer(T* offered) : item(offered) {}
    T* item;
    bool taken = false;
    detail::WaitList done;
  };

  void withdraw(Offer* offer) {
    for (auto it = offers_.begin(); it != offers_.end(); ++it) {
      if (*it == offer) {
        offers_.erase(it);
        return;
      }
    }
  }

  std::deque<Offer*> offers_;
  detail::WaitList getters_;
};

}  // namespace gs
