// io.h: cooperative waits on file descriptors and on several objects at once
// (gevent.socket.wait_read/wait_write, gevent.wait/iwait).
#pragma once

#include <cstddef>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <vector>

#include "greenscope/event.h"
#include "greenscope/greenlet.h"
#include "greenscope/types.h"

namespace gs {

// wait_io() suspends the current greenlet until `fd` is ready for `events`
// (kIoRead, kIoWrite or both) and returns the ready bits.
// Throws IoError(EBADF) at once for an fd that is not open (libev would
// abort the process), TimeoutError when `timeout` passes first (at once for
// 0 or less; NaN is a UsageError), and IoError(EBADF) when
// another greenlet or thread closes `fd` meanwhile (through gs::Socket,
// gs::notify_closed() or, with patch_all(), plain close()). Precondition: a
// greenlet of this thread other than the hub is running.
int wait_io(int fd, int events, Duration timeout = kForever);
inline void wait_read(int fd, Duration timeout = kForever) { wait_io(fd, kIoRead, timeout); }
inline void wait_write(int fd, Duration timeout = kForever) { wait_io(fd, kIoWrite, timeout); }

// notify_closed() wakes every greenlet waiting on `fd` with IoError(EBADF).
// The runtime's close() (the one every program linked with it calls, patched
// or not, and so gs::Socket::close()) does this itself, and also handles
// waiters on other threads safely, by keeping the fd number reserved until
// their hubs let go. Call notify_closed() only before closing an fd some
// other way (a raw syscall), and then only with waiters on this thread.
void notify_closed(int fd);

// Waitable is one thing gs::wait() can wait for: a greenlet (it dies), an
// Event or AsyncResult (it is set), or an fd (readable/writable).
class Waitable {
 public:
  Waitable(const GreenletRef& g);  // NOLINT(google-explicit-constructor): reads like gevent.wait([g1, e])
  Waitable(Event& e);              // NOLINT(google-explicit-constructor)
  template <class T>
  Waitable(AsyncResult<T>& r)  // NOLINT(google-explicit-constructor)
      : ready_([&r] { return r.ready(); }), wait_([&r] { r.wait(); }) {}
  // readable()/writable() throw IoError(EBADF) for an fd that is not open.
  static Waitable readable(int fd);
  static Waitable writable(int fd);

  bool ready() const { return ready_(); }
  // block() returns once the object is ready.
  void block() const { wait_(); }

 private:
  Waitable(std::function<bool()> ready, std::function<void()> wait)
      : ready_(std::move(ready)), wait_(std::move(wait)) {}
  std::function<bool()> ready_;
  std::function<void()> wait_;
};

// wait() waits until `count` of `objects` are ready (all of them when count
// is 0) or `timeout` passes, and returns the indexes of the ready ones in the
// order they became ready (fewer than asked for after a timeout). A count
// past objects.size() is objects.size(); timeouts as in types.h.
// The objects must outlive the call.
std::vector<std::size_t> wait(const std::vector<Waitable>& objects, Duration timeout = kForever,
                              std::size_t count = 0);

// Iwait yields the indexes of `objects` as they become ready (gevent.iwait):
//   for (Iwait it(objects); auto i = it.next();) handle(*i);
// next() returns nullopt when all are done or the timeout passed. The objects
// must outlive the Iwait's helpers: until next() returned nullopt or close()
// returned (close() kills and joins them; the destructor only kills).
class Iwait {
 public:
  explicit Iwait(const std::vector<Waitable>& objects, Duration timeout = kForever);
  ~Iwait();
  Iwait(const Iwait&) = delete;
  Iwait& operator=(const Iwait&) = delete;
  std::optional<std::size_t> next();
  void close();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace gs
