// io.cpp: cooperative fd waits (wait_io), the close notification, and
// gs::wait / gs::Iwait.
#include "greenscope/io.h"

#include <ev.h>
#include <fcntl.h>
#include <poll.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <string>
#include <unordered_map>

#include "greenscope/detail/deadline.h"
#include "greenscope/errors.h"
#include "greenscope/queue.h"
#include "hub_impl.h"
#include "io_wait.h"
#include "sys.h"

#if defined(GS_SANITIZE_THREAD)
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace gs::detail {
namespace {

// TableMutex is a std::mutex that TSan always sees. TSan's interceptors run
// blocking calls (poll, read...) with its own interception paused, and here
// those calls reach the runtime's interposers, which lock this mutex: without
// the annotations TSan reports false races on the table (and, while
// symbolizing the report with the lock held, deadlocks in close()).
class TableMutex {
 public:
  void lock() {
    m_.lock();
#if defined(GS_SANITIZE_THREAD)
    __tsan_acquire(this);
#endif
  }
  void unlock() {
#if defined(GS_SANITIZE_THREAD)
    __tsan_release(this);
#endif
    m_.unlock();
  }

 private:
  std::mutex m_;
};

TableMutex g_mutex;
// The fd -> first waiter table, under g_mutex: an array for the usual fd
// numbers (no allocation per wait), a map past it.
constexpr int kDirectFds = 1 << 16;
IoWaiter* g_direct[kDirectFds];
std::unordered_map<int, IoWaiter*> g_overflow;

IoWaiter*& head_of(int fd) { return fd < kDirectFds ? g_direct[fd] : g_overflow[fd]; }
IoWaiter* first_waiter(int fd) {
  if (fd < kDirectFds) return g_direct[fd];
  auto it = g_overflow.find(fd);
  return it == g_overflow.end() ? nullptr : it->second;
}
std::atomic<std::size_t> g_waiter_count{0};
std::uint64_t g_next_token = 1;                // under g_mutex

void link_waiter(int fd, IoWaiter& w) {
  std::lock_guard<TableMutex> lock(g_mutex);
  w.token = g_next_token++;
  IoWaiter*& head = head_of(fd);
  w.next = head;
  if (head != nullptr) head->prev = &w;
  head = &w;
  w.linked = true;
  g_waiter_count.fetch_add(1, std::memory_order_relaxed);
}

// unlink_locked() removes `w` from its fd's list; g_mutex must be held.
void unlink_locked(int fd, IoWaiter& w) {
  if (!w.linked) return;
  if (w.prev != nullptr) {
    w.prev->next = w.next;
  } else if (fd >= kDirectFds && w.next == nullptr) {
    g_overflow.erase(fd);
  } else {
    head_of(fd) = w.next;
  }
  if (w.next != nullptr) w.next->prev = w.prev;
  w.linked = false;
  g_waiter_count.fetch_sub(1, std::memory_order_relaxed);
}

// unlink_waiter() ends a wait; true if the fd was closed under it.
bool unlink_waiter(int fd, IoWaiter& w) {
  std::lock_guard<TableMutex> lock(g_mutex);
  unlink_locked(fd, w);
  return w.closed;
}

int to_ev(int events) { return ((events & kIoRead) ? EV_READ : 0) | ((events & kIoWrite) ? EV_WRITE : 0); }

void on_io_ready(struct ev_loop* loop, ev_io* io, int revents) {
  auto* w = static_cast<IoWaiter*>(io->data);
  WatcherScope scope(*w->hub, WatcherKind::Io, io, io->fd, revents);
  w->revents |= revents;
  ev_io_stop(loop, io);
  w->hub->wake(*w->greenlet);
}

// wake_closed() takes `w` out of the registry, marks it closed, stops its
// watcher and wakes its greenlet, if any (a parked entry may have none);
// runs on w's hub thread with g_mutex held.
void wake_closed(IoWaiter& w, int fd) {
  unlink_locked(fd, w);
  w.closed = true;
  ev_io_stop(w.hub->ev(), w.watcher);
  if (w.greenlet != nullptr) w.hub->wake(*w.greenlet);
}

}  // namespace

bool may_have_waiters() { return g_waiter_count.load(std::memory_order_relaxed) != 0; }

void forget_hub_waiters(HubImpl& hub) {
  if (!may_have_waiters()) return;
  std::lock_guard<TableMutex> lock(g_mutex);
  auto forget_in = [&hub](int fd) {
    for (IoWaiter* w = first_waiter(fd); w != nullptr;) {
      IoWaiter* next = w->next;
      if (w->hub == &hub) {
        unlink_locked(fd, *w);
        w->closed = true;
        // A parked watcher stays started: stop it while its loop is here, and
        // forget the hub, so that the socket's later wait or close does not
        // reach for it.
        if (w->parked) {
          ev_io_stop(hub.ev(), w->watcher);
          w->hub = nullptr;
        }
      }
      w = next;
    }
  };
  for (int fd = 0; fd < kDirectFds; ++fd) {
    if (g_direct[fd] != nullptr) forget_in(fd);
  }
  std::vector<int> overflow_fds;
  for (const auto& [fd, head] : g_overflow) overflow_fds.push_back(fd);
  for (const int fd : overflow_fds) forget_in(fd);
}

// end_wait() ends `w`'s wait; true if the fd was closed under it. A plain
// wait leaves the registry and stops its watcher; a parked entry stays in
// both (wake_closed() took it out if a close came).
bool end_wait(int fd, IoWaiter& w) {
  if (w.parked) return w.closed;
  const bool closed = unlink_waiter(fd, w);
  if (ev_is_active(&w.io)) ev_io_stop(w.hub->ev(), &w.io);
  return closed;
}

// block_on() is every io wait: register `waiters` (a parked one may be in
// the registry already), start their watchers (a parked one may be started
// already), block, and on the way out, by return or exception, end each
// wait (end_wait()).
IoWaitResult block_on(HubImpl& hub, IoWaiter* waiters, std::size_t count, const WaitInfo& info,
                      Duration timeout) {
  auto end_all = [&] {
    bool closed = false;
    for (std::size_t i = 0; i < count; ++i) closed |= end_wait(waiters[i].watcher->fd, waiters[i]);
    return closed;
  };
  bool ready = false;
  try {
    for (std::size_t i = 0; i < count; ++i) {
      if (!waiters[i].linked) link_waiter(waiters[i].watcher->fd, waiters[i]);
      if (!ev_is_active(waiters[i].watcher)) ev_io_start(hub.ev(), waiters[i].watcher);
    }
    ready = hub.block_current(info, timeout);
  } catch (...) {
    end_all();
    throw;
  }
  if (end_all()) return IoWaitResult::Closed;
  return ready ? IoWaitResult::Ready : IoWaitResult::TimedOut;
}

// init_waiter() prepares `w` to wait with its own watcher.
void init_waiter(IoWaiter& w, HubImpl& hub, int fd, int events) {
  w.hub = &hub;
  w.greenlet = hub.running();
  ev_io_init(&w.io, &on_io_ready, fd, to_ev(events));
  w.io.data = &w;
}

IoWaitResult wait_fd(int fd, int events, Duration timeout, const char* what, int* ready_events) {
  HubImpl& hub = HubImpl::current();
  IoWaiter w;
  init_waiter(w, hub, fd, events);
  const IoWaitResult r = block_on(hub, &w, 1, WaitInfo{SwitchReason::Io, nullptr, what, fd, events}, timeout);
  if (ready_events != nullptr) {
    *ready_events = ((w.revents & EV_READ) ? kIoRead : 0) | ((w.revents & EV_WRITE) ? kIoWrite : 0);
  }
  return r;
}

IoWaitResult wait_fds(const pollfd* fds, unsigned long count, Duration timeout, const char* what) {
  HubImpl& hub = HubImpl::current();
  std::unique_ptr<IoWaiter[]> waiters(new IoWaiter[count]);
  std::size_t used = 0;
  int all_events = 0;
  for (unsigned long i = 0; i < count; ++i) {
    const int events = ((fds[i].events & (POLLIN | POLLPRI | POLLRDHUP)) ? kIoRead : 0) |
                       ((fds[i].events & POLLOUT) ? kIoWrite : 0);
    if (fds[i].fd < 0 || events == 0) continue;
    init_waiter(waiters[used++], hub, fds[i].fd, events);
    all_events |= events;
  }
  if (used == 0) {  // poll() with nothing to watch is a sleep
    hub.block_current(WaitInfo{SwitchReason::Sleep, nullptr, what}, timeout);
    return IoWaitResult::TimedOut;
  }
  const int fd_shown = used == 1 ? waiters[0].io.fd : -1;
  return block_on(hub, waiters.get(), used, WaitInfo{SwitchReason::Io, nullptr, what, fd_shown, all_events},
                  timeout);
}

void throw_wait_failed(IoWaitResult result, Duration timeout, const char* what, int fd) {
  if (result == IoWaitResult::TimedOut) throw TimeoutError(timeout);
  std::string name = what;
  if (fd >= 0) name += " on fd " + std::to_string(fd);
  throw IoError(EBADF, name + ": the fd was closed while waiting");
}

// --- ParkedWatcher ------------------------------------------------------------
ParkedWatcher::ParkedWatcher(int fd, int events) : fd_(fd), events_(events) {
  ev_io_init(&entry_.io, &ParkedWatcher::on_ready, fd, to_ev(events));
  entry_.io.data = this;
  entry_.parked = true;
}

ParkedWatcher::~ParkedWatcher() {
  stop();
  if (entry_.linked) unlink_waiter(fd_, entry_);
}

void ParkedWatcher::stop() {
  if (entry_.hub != nullptr && ev_is_active(&entry_.io)) ev_io_stop(entry_.hub->ev(), &entry_.io);
}

void ParkedWatcher::on_ready(struct ev_loop* loop, ev_io* io, int revents) {
  auto* self = static_cast<ParkedWatcher*>(io->data);
  WatcherScope scope(*self->entry_.hub, WatcherKind::Io, io, io->fd, revents);
  if (self->entry_.greenlet != nullptr) {
    self->entry_.hub->wake(*self->entry_.greenlet);  // stays started: the next wait is free
  } else {
    ev_io_stop(loop, io);  // nobody waits: level-triggered, it would fire again
  }
}

void ParkedWatcher::release(std::shared_ptr<ParkedWatcher>& owner) {
  if (owner && owner->entry_.greenlet != nullptr) owner->released_ = std::move(owner);
  owner.reset();
}

// WaitScope is the greenlet in wait() (the entry's `greenlet`) and, as it
// leaves a released watcher, drops the reference that kept it: the watcher
// may go with it, so nothing of it is touched after.
class ParkedWatcher::WaitScope {
 public:
  WaitScope(ParkedWatcher& w, GreenletBase* waiter) : w_(w) { w_.entry_.greenlet = waiter; }
  ~WaitScope() {
    w_.entry_.greenlet = nullptr;
    if (w_.released_) std::shared_ptr<ParkedWatcher> last = std::move(w_.released_);
  }
  WaitScope(const WaitScope&) = delete;
  WaitScope& operator=(const WaitScope&) = delete;

 private:
  ParkedWatcher& w_;
};

namespace {

// throw_concurrent_wait() is a second greenlet's wait on a watcher that
// `waiter` waits on. It would take the wake-up from the first, which would
// then sleep until a close or its timeout: gevent raises
// ConcurrentObjectUseError here too.
[[noreturn, gnu::cold, gnu::noinline]] void throw_concurrent_wait(const GreenletBase& waiter, int fd, int events,
                                                               const char* what) {
  const bool read = (events & kIoRead) != 0;
  throw UsageError(std::string(what) + ": greenlet " + std::to_string(waiter.id()) + " (\"" + waiter.name() +
                   "\") is already waiting to " + (read ? "read from" : "write to") + " this socket (fd " +
                   std::to_string(fd) +
                   "); one greenlet at a time may wait in each direction (gevent raises ConcurrentObjectUseError): "
                   "let one greenlet " + (read ? "read" : "write") +
                   " and hand the data to the others (a gs::Queue), or hold a gs::Lock around each call");
}

}  // namespace

// closed_wait() is a wait on a watcher that a close took out of the
// registry: Closed, with no watcher started on a number that may be reused;
// or, when the hub it waited on has ended, a UsageError.
IoWaitResult ParkedWatcher::closed_wait() const {
  if (entry_.hub == nullptr) {
    throw UsageError("gs::Socket (fd " + std::to_string(fd_) +
                     "): the thread it first waited on has ended, and its hub with it; a socket belongs to the "
                     "thread that first waits on it: create it there, or hand its data to that thread");
  }
  return IoWaitResult::Closed;
}

IoWaitResult ParkedWatcher::wait(Duration timeout, const char* what) {
  HubImpl& hub = HubImpl::current();
  if (entry_.hub != nullptr && entry_.hub != &hub) {
    throw UsageError("gs::Socket belongs to the thread that first waited on it; use it only there");
  }
  if (entry_.greenlet != nullptr) [[unlikely]] throw_concurrent_wait(*entry_.greenlet, fd_, events_, what);
  if (entry_.closed) [[unlikely]] return closed_wait();
  entry_.hub = &hub;
  const WaitScope scope(*this, hub.running());
  return block_on(hub, &entry_, 1, WaitInfo{SwitchReason::Io, nullptr, what, fd_, events_}, timeout);
}

}  // namespace gs::detail

namespace gs {

int wait_io(int fd, int events, Duration timeout) {
  // libev aborts (or, for a huge number, crashes) on an fd that is not open.
  if (fd < 0 || ::fcntl(fd, F_GETFD) == -1) {
    throw IoError(EBADF, "gs::wait_io(fd " + std::to_string(fd) + "): not an open file descriptor");
  }
  if ((events & (kIoRead | kIoWrite)) == 0) {
    throw UsageError("gs::wait_io(): pass kIoRead, kIoWrite or both as events");
  }
  int ready = 0;
  detail::throw_unless_ready(
      detail::wait_fd(fd, events, timeout, events & kIoWrite ? "gs::wait_write()" : "gs::wait_read()", &ready),
      timeout, "gs::wait_io()", fd);
  return ready != 0 ? ready : events;
}

namespace detail {

// close_with_waiters() wakes every greenlet waiting on `fd` before it is
// closed. Waiters of this thread are woken and their watchers stopped at
// once. A waiter of another thread has a watcher that only its own hub may
// stop, and libev aborts if it finds an fd closed under a watcher it has not
// yet handed to epoll. So with `defer_close`, the fd is pointed at /dev/null
// (dup3: the real file is released now, the peer sees the close) and the
// number stays reserved until every such hub has stopped its watchers; the
// last one closes it (Go's netpoll likewise closes only once in-flight
// operations are gone). Returns true when it took over the close.
bool close_with_waiters(int fd, bool defer_close) {
  if (fd < 0) return false;
  HubImpl* here = HubImpl::current_if_any();
  std::lock_guard<TableMutex> lock(g_mutex);
  std::vector<std::pair<HubImpl*, std::uint64_t>> remote;
  for (IoWaiter* w = first_waiter(fd); w != nullptr;) {
    IoWaiter* next = w->next;
    if (w->hub == here) {
      wake_closed(*w, fd);
    } else {
      // A plain wait reads `closed` under the lock as it ends: set it now, so
      // that a wait ending before the hub runs the post still says Closed.
      // A parked entry's is its hub's to write (its waits take no lock).
      if (!w->parked) w->closed = true;
      remote.emplace_back(w->hub, w->token);
    }
    w = next;
  }
  if (remote.empty()) return false;
  bool deferred = false;
  if (defer_close) {
    const int placeholder = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (placeholder >= 0) {
      deferred = sys::libc().dup3(placeholder, fd, O_CLOEXEC) == fd;
      sys::libc().close(placeholder);
    }
  }
  auto left = std::make_shared<std::atomic<std::size_t>>(remote.size());
  // Posted under g_mutex: a hub with a linked waiter cannot be gone yet.
  for (const auto& [hub, hub_token] : remote) {
    // A copy: C++20 lets a lambda capture a structured binding, clang 14 not.
    const auto token = hub_token;
    hub->post_threadsafe([fd, token, left, deferred] {
      {
        std::lock_guard<TableMutex> inner(g_mutex);
        for (IoWaiter* v = first_waiter(fd); v != nullptr; v = v->next) {
          if (v->token == token) {
            wake_closed(*v, fd);
            break;
          }
        }
      }
      if (left->fetch_sub(1) == 1 && deferred) sys::libc().close(fd);
    });
  }
  return deferred;
}

}  // namespace detail

void notify_closed(int fd) {
  if (detail::may_have_waiters()) detail::close_with_waiters(fd, /*defer_close=*/false);
}

// --- gs::wait / gs::Iwait ------------------------------------------------------
Waitable::Waitable(const GreenletRef& g) : ready_([g] { return g.ready(); }), wait_([g] { g.join(); }) {}

Waitable::Waitable(Event& e) : ready_([&e] { return e.is_set(); }), wait_([&e] { e.wait(); }) {}

namespace {
bool fd_ready(int fd, short events) {
  pollfd p{fd, events, 0};
  return detail::sys::libc().poll(&p, 1, 0) > 0;
}
}  // namespace

namespace {
// check_open() throws IoError(EBADF) for an fd that is not open now: its
// wait would otherwise fail in a helper greenlet, not in the caller.
void check_open(int fd, const char* call) {
  if (fd < 0 || ::fcntl(fd, F_GETFD) == -1) {
    throw IoError(EBADF, std::string(call) + "(fd " + std::to_string(fd) + "): not an open file descriptor");
  }
}
}  // namespace

Waitable Waitable::readable(int fd) {
  check_open(fd, "gs::Waitable::readable");
  return Waitable([fd] { return fd_ready(fd, POLLIN); }, [fd] { wait_read(fd); });
}

Waitable Waitable::writable(int fd) {
  check_open(fd, "gs::Waitable::writable");
  return Waitable([fd] { return fd_ready(fd, POLLOUT); }, [fd] { wait_write(fd); });
}

struct Iwait::State {
  Queue<std::size_t> ready;
  std::vector<GreenletRef> watchers;
  std::size_t remaining = 0;
  detail::Deadline deadline{kForever, "gs::Iwait"};
};

Iwait::Iwait(const std::vector<Waitable>& objects, Duration timeout) : state_(std::make_shared<State>()) {
  state_->remaining = objects.size();
  state_->deadline = detail::Deadline(timeout, "gs::Iwait / gs::wait()");
  for (std::size_t i = 0; i < objects.size(); ++i) {
    if (objects[i].ready()) {
      state_->ready.put(i);
      continue;
    }
    // One small greenlet per object: each waits in the object's own way and
    // reports its index.
    const Waitable* object = &objects[i];
    std::weak_ptr<State> weak = state_;
    GreenletRef g = gs::spawn([object, i, weak] {
      object->block();
      if (auto s = weak.lock()) s->ready.put(i);
    });
    g.set_name("gs::wait helper");
    state_->watchers.push_back(std::move(g));
  }
}

Iwait::~Iwait() {
  // Not close(): a destructor must not block. The helpers die at their next
  // resume; close() first if the objects die with the Iwait.
  for (auto& g : state_->watchers) {
    if (!g.ready()) g.kill(false);
  }
}

void Iwait::close() {
  for (auto& g : state_->watchers) g.kill(true);
  state_->watchers.clear();
  state_->remaining = 0;
}

std::optional<std::size_t> Iwait::next() {
  if (state_->remaining == 0) {
    close();
    return std::nullopt;
  }
  try {
    std::size_t i = state_->ready.get(state_->deadline.remaining());
    --state_->remaining;
    return i;
  } catch (const Empty&) {
    close();
    return std::nullopt;
  }
}

std::vector<std::size_t> wait(const std::vector<Waitable>& objects, Duration timeout, std::size_t count) {
  if (count == 0 || count > objects.size()) count = objects.size();
  std::vector<std::size_t> done;
  Iwait it(objects, timeout);
  while (done.size() < count) {
    auto i = it.next();
    if (!i) break;
    done.push_back(*i);
  }
  it.close();
  return done;
}

}  // namespace gs
