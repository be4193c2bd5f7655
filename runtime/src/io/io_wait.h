// io_wait.h: the fd wait registry behind gs::wait_io(), the patched calls and
// gs::notify_closed(). A close must find every greenlet waiting on the fd, on
// any thread, so waits register in one process-wide table: a wait_fd() for
// the length of the wait, a ParkedWatcher (gs::Socket's) once, from its first
// wait until its fd is closed, so that its waits take no lock.
#pragma once

#include <poll.h>

#include <cstdint>
#include <memory>
#include <string>

#include <ev.h>

#include "greenscope/types.h"

namespace gs::detail {

class HubImpl;
class GreenletBase;

enum class IoWaitResult : std::uint8_t { Ready, TimedOut, Closed };

// IoWaiter is one entry of the registry: a wait_fd() on one fd, on the
// waiting greenlet's stack for the length of the wait, or a ParkedWatcher's,
// linked from its first wait until its fd is closed or it goes. Fields marked
// (hub) are written only on `hub`'s thread, which may read them without the
// registry's lock; (lock) are read and written under it.
struct IoWaiter {
  ev_io io;                         // the watcher (a ParkedWatcher's stays started)
  ev_io* watcher = &io;             // ro
  bool parked = false;              // ro: a ParkedWatcher's entry
  int revents = 0;                  // (hub): what its watcher reported (EV_READ/EV_WRITE)
  HubImpl* hub = nullptr;           // ro once linked: the waiting greenlet's hub (forget_hub_waiters() clears a parked one's)
  GreenletBase* greenlet = nullptr; // (hub): who waits; a parked entry may have nobody
  std::uint64_t token = 0;          // (lock): unique per link
  bool closed = false;              // parked (hub), else (lock): a close hit it
  bool linked = false;              // (lock), written on `hub`'s thread only
  IoWaiter* prev = nullptr;         // (lock): the fd's list
  IoWaiter* next = nullptr;         // (lock)
};

// wait_fd() suspends the running greenlet until `fd` is ready for `events`
// (kIoRead/kIoWrite), the timeout passes, or the fd is closed through
// notify_closed(). `what` names the call for LoopExit messages and the
// tracer ("read()", "gs::Socket::recv()"). Precondition: the running
// greenlet is not the hub. A kill or gs::Timeout propagates as an exception.
// With `ready_events`, stores what the watcher reported (kIoRead/kIoWrite).
IoWaitResult wait_fd(int fd, int events, Duration timeout, const char* what, int* ready_events = nullptr);

// throw_unless_ready() is the explicit API's reading of a wait's result:
// TimeoutError(timeout) or IoError(EBADF) naming `what` (with `fd` when it
// is >= 0); nothing when Ready. The message is built only on failure: a
// std::string made for every wait was an allocation per echo round trip.
[[noreturn]] void throw_wait_failed(IoWaitResult result, Duration timeout, const char* what, int fd);
inline void throw_unless_ready(IoWaitResult result, Duration timeout, const char* what, int fd = -1) {
  if (result != IoWaitResult::Ready) [[unlikely]] throw_wait_failed(result, timeout, what, fd);
}

// wait_fds() is wait_fd() on every fd of a poll() array at once (their
// events mapped to read/write); Ready when any is ready, Closed when any was
// closed. Entries with fd < 0 or no events are ignored; with none left it
// sleeps for `timeout`.
IoWaitResult wait_fds(const struct pollfd* fds, unsigned long count, Duration timeout, const char* what);

// close_with_waiters() wakes the greenlets waiting on `fd`, which is about to
// be closed (io.cpp explains the cross-thread case). True when it took over
// closing the fd (only with defer_close); else the caller closes it.
bool close_with_waiters(int fd, bool defer_close);

// ParkedWatcher is an io watcher for one fd that stays started between waits
// (gs::Socket keeps one per direction). A watcher started and stopped for
// every wait costs libev an epoll_ctl each time; a parked one costs nothing
// while it keeps being waited on. If it fires while nobody waits it stops
// itself (epoll is level-triggered: it would fire on every poll). It stays
// in the registry from its first wait until a close of its fd takes it out
// (waking its waiter, if any; later waits return Closed) or it goes: a wait
// takes no lock, which a second thread in the process makes dearer (glibc's
// mutex skips its atomic instructions only while there is one thread). One
// greenlet waits at a time: wait() throws UsageError for a second (gevent's
// ConcurrentObjectUseError), which would take the first one's wake-up.
// Owned by the fd's owner, which must stop() it before closing the fd, and
// let it go with release().
class ParkedWatcher {
 public:
  ParkedWatcher(int fd, int events);
  ~ParkedWatcher();
  ParkedWatcher(const ParkedWatcher&) = delete;
  ParkedWatcher& operator=(const ParkedWatcher&) = delete;
  // wait() waits for the fd. The owner may release() the watcher meanwhile
  // (another greenlet closes the socket): it lives on until wait() returns.
  IoWaitResult wait(Duration timeout, const char* what);
  void stop();
  // release() is how the owner lets its reference go: while a greenlet is
  // in wait(), the watcher keeps the reference itself and drops it as that
  // greenlet returns. A wait costs no copy of the shared_ptr that way:
  // its two atomic operations on every wait, once the process has a
  // second thread (the stall monitor's, the tracer's), were about 0.2 % of
  // the echo server's round trip (docs/benchmarks.md, "Stall monitor").
  static void release(std::shared_ptr<ParkedWatcher>& owner);

 private:
  class WaitScope;
  IoWaitResult closed_wait() const;
  static void on_ready(struct ev_loop* loop, ev_io* io, int revents);
  IoWaiter entry_;                     // its watcher; hub set by the first wait, greenlet by each
  int fd_;
  int events_;
  std::shared_ptr<ParkedWatcher> released_;  // the owner's reference, after release() while waited on
};

// may_have_waiters() is a cheap check that lets close() skip the registry.
bool may_have_waiters();

// forget_hub_waiters() takes `hub`'s entries out of the registry as it ends,
// so that no close posts to it after: the parked watchers of sockets that
// outlive their hub (stopped, their later waits throw UsageError) and the
// waits of greenlets left suspended. On `hub`'s thread, before its loop goes.
void forget_hub_waiters(HubImpl& hub);

}  // namespace gs::detail
