// pool.h: gevent.pool for C++: Group (a set of greenlets to join or kill
// together) and Pool (a Group that runs at most n greenlets at once).
#pragma once

#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "greenscope/detail/wait_list.h"
#include "greenscope/greenlet.h"
#include "greenscope/lock.h"
#include "greenscope/queue.h"

namespace gs {

namespace detail {
// GroupState outlives the Group while member greenlets still hold links.
struct GroupState {
  std::vector<GreenletRef> members;
  WaitList empty_waiters;
  Semaphore* slots = nullptr;  // the Pool's, or null for a Group
  void discard(const GreenletRef& g);
};
}  // namespace detail

template <class R>
class ImapUnordered;

// Group tracks greenlets: each leaves the group when it dies.
class Group {
 public:
  Group() : state_(std::make_shared<detail::GroupState>()) {}
  virtual ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  // spawn() starts f(args...) as a member (in a Pool, waits for a free slot).
  // An empty function is a UsageError, raised before a slot is taken.
  template <class F, class... Args>
  auto spawn(F&& f, Args&&... args) {
    detail::check_function(f, "Group::spawn()");  // before a Pool slot is taken
    before_add();
    try {
      auto g = gs::spawn(std::forward<F>(f), std::forward<Args>(args)...);
      track(g);
      return g;
    } catch (...) {
      undo_add();  // no stack (gs::ResourceError): the Pool's slot is free again
      throw;
    }
  }

  // add() makes an existing greenlet a member (in a Pool, waits for a slot).
  void add(const GreenletRef& g);
  // discard() removes a member without waiting for it.
  void discard(const GreenletRef& g) { state_->discard(g); }
  bool contains(const GreenletRef& g) const;
  std::size_t size() const { return state_->members.size(); }
  bool empty() const { return state_->members.empty(); }
  std::vector<GreenletRef> greenlets() const { return state_->members; }

  // join() waits until every member is dead (false on timeout); with
  // raise_error, rethrows the first failure among them.
  bool join(Duration timeout = kForever, bool raise_error = false);
  // kill() kills every member; with `block`, waits for them to die.
  void kill(bool block = true, Duration timeout = kForever);

  // map() runs f(item) for every item as members and returns the results in
  // the items' order; the first failure (in order) is rethrown.
  template <class F, class Range>
  auto map(F f, const Range& items) {
    using Item = std::decay_t<decltype(*std::begin(items))>;
    using R = std::decay_t<std::invoke_result_t<F&, const Item&>>;
    std::vector<Greenlet<R>> greenlets;
    for (const auto& item : items) greenlets.push_back(spawn(f, item));
    if constexpr (std::is_void_v<R>) {
      for (auto& g : greenlets) g.get();
    } else {
      std::vector<R> results;
      results.reserve(greenlets.size());
      for (auto& g : greenlets) results.push_back(std::move(g.get()));
      return results;
    }
  }

  // imap_unordered() runs f(item) for every item as members and yields the
  // results as they complete; a failure is rethrown by next() when reached.
  template <class F, class Range>
  auto imap_unordered(F f, const Range& items);

 protected:
  // before_add() runs before a greenlet joins; Pool waits for a slot here.
  // undo_add() gives back what it took when the greenlet could not start.
  virtual void before_add() {}
  virtual void undo_add() {}
  void track(const GreenletRef& g);

  std::shared_ptr<detail::GroupState> state_;
};

// Pool is a Group of at most `size` live greenlets: spawn() and add() wait
// while it is full. Pool(0) could never run anything and a size past
// PTRDIFF_MAX is a negative number passed as std::size_t: both are
// UsageErrors (gevent: Pool(-1) is a ValueError); a Group has no limit.
class Pool : public Group {
 public:
  explicit Pool(std::size_t size);
  ~Pool() override;

  std::size_t capacity() const { return capacity_; }
  std::size_t free_count() const { return slots_.value(); }
  bool full() const { return slots_.value() == 0; }
  // wait_available() waits until a slot is free; false on timeout.
  bool wait_available(Duration timeout = kForever) { return slots_.wait(timeout); }

 protected:
  void before_add() override;
  void undo_add() override;

 private:
  std::size_t capacity_;
  Semaphore slots_;
};

// ImapUnordered<R> is the iterator over imap_unordered()'s results.
template <class R>
class ImapUnordered {
 public:
  using Item = std::variant<R, std::exception_ptr>;

  ImapUnordered(std::shared_ptr<Queue<Item>> results, std::size_t total, GreenletRef feeder)
      : results_(std::move(results)), total_(total), feeder_(std::move(feeder)) {}
  ImapUnordered(ImapUnordered&&) = default;
  ~ImapUnordered() {
    if (feeder_ && !feeder_.dead()) feeder_.kill(/*block=*/false);
  }

  // next() is the next result to complete, nullopt after the last one.
  std::optional<R> next() {
    if (received_ == total_) return std::nullopt;
    Item item = results_->get();
    ++received_;
    if (auto* error = std::get_if<std::exception_ptr>(&item)) std::rethrow_exception(*error);
    return std::move(std::get<R>(item));
  }

  // Range-for support: for (auto& r : pool.imap_unordered(f, items)).
  class iterator {
   public:
    explicit iterator(ImapUnordered* owner) : owner_(owner) { advance(); }
    R& operator*() { return *current_; }
    iterator& operator++() {
      advance();
      return *this;
    }
    bool operator!=(std::nullptr_t) const { return current_.has_value(); }

   private:
    void advance() { current_ = owner_->next(); }
    ImapUnordered* owner_;
    std::optional<R> current_;
  };
  iterator begin() { return iterator(this); }
  std::nullptr_t end() { return nullptr; }

 private:
  std::shared_ptr<Queue<Item>> results_;
  std::size_t total_;
  std::size_t received_ = 0;
  GreenletRef feeder_;
};

template <class F, class Range>
auto Group::imap_unordered(F f, const Range& items) {
  using Item = std::decay_t<decltype(*std::begin(items))>;
  using R = std::decay_t<std::invoke_result_t<F&, const Item&>>;
  static_assert(!std::is_void_v<R>, "imap_unordered() needs a function that returns a value");
  using Out = typename ImapUnordered<R>::Item;
  auto results = std::make_shared<Queue<Out>>();
  std::vector<Item> copy(std::begin(items), std::end(items));
  const std::size_t total = copy.size();
  // A feeder greenlet spawns the workers so that a full Pool makes it wait,
  // not the caller that is reading results.
  auto feeder = gs::spawn([this, f, results, copy = std::move(copy)]() mutable {
    for (auto& item : copy) {
      spawn([f, results, item]() mutable {
        try {
          results->put(Out(std::in_place_index<0>, f(item)));
        } catch (const GreenletExit&) {
          throw;
        } catch (...) {
          results->put(Out(std::in_place_index<1>, std::current_exception()));
        }
      });
    }
  });
  return ImapUnordered<R>(std::move(results), total, std::move(feeder));
}

}  // namespace gs
