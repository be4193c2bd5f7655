// errors.h: the exceptions the runtime raises, named after gevent's.
#pragma once

#include <stdexcept>
#include <string>
#include <system_error>

#include "greenscope/types.h"

namespace gs {

// GreenletExit is raised inside a greenlet at its suspension point by kill().
// Let it propagate: the greenlet then dies quietly (the hub does not report
// it) and RAII cleanup on its stack runs on the way out.
class GreenletExit : public std::exception {
 public:
  const char* what() const noexcept override { return "gs::GreenletExit: greenlet was killed"; }
};

// TimeoutError is raised by gs::Timeout at the first blocking point after the
// timeout expired, and by waits given a timeout that report it by throwing
// (Greenlet::get, AsyncResult::get, with_timeout).
class TimeoutError : public std::runtime_error {
 public:
  explicit TimeoutError(Duration seconds, const void* source = nullptr);
  Duration seconds() const { return seconds_; }
  // source() is the gs::Timeout that raised it, or nullptr for a plain
  // timeout argument; compare with &my_timeout to tell nested timeouts apart.
  const void* source() const { return source_; }

 private:
  Duration seconds_;
  const void* source_;
};

// LoopExit is raised in the thread's main greenlet when it waits and nothing
// left in the hub's loop (no timer, no watcher, no ready greenlet) could ever
// wake it: the program would otherwise hang. The message says what was
// waited on.
class LoopExit : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// UsageError reports a misuse of the API (blocking on the hub, joining
// yourself, touching a greenlet of another thread, releasing an unheld lock)
// or a value a call cannot take (a NaN timeout, a count that was a negative
// number, an empty function, an option out of range). The message names the
// call and the value, and says how to call it correctly.
class UsageError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// Empty is raised by Queue/Channel get when nothing arrived in time.
class Empty : public std::runtime_error {
 public:
  Empty() : std::runtime_error("gs::Empty: the queue stayed empty until the timeout") {}
};

// Full is raised by Queue/Channel put when no room appeared in time.
class Full : public std::runtime_error {
 public:
  Full() : std::runtime_error("gs::Full: the queue stayed full until the timeout") {}
};

// IoError is a failed system call of the cooperative I/O layer (gs::Socket,
// gs::wait_read(), gs::Subprocess...). code().value() is the errno; what()
// names the operation and its object, then strerror's text:
// "gs::Socket::connect(127.0.0.1:1): Connection refused".
class IoError : public std::system_error {
 public:
  IoError(int error, const std::string& operation)
      : std::system_error(error, std::generic_category(), operation) {}
  int error() const { return code().value(); }
};

// ResourceError is something the runtime needs that the system refused: a
// greenlet's stack, when mmap() fails (the address space limit RLIMIT_AS,
// the machine's memory, or vm.max_map_count). spawn() throws it when no
// stack can be had; the hub and the greenlets already running go on.
// code().value() is the errno; what() says what failed and what to do.
class ResourceError : public std::system_error {
 public:
  ResourceError(int error, const std::string& what) : std::system_error(error, std::generic_category(), what) {}
  int error() const { return code().value(); }
};

}  // namespace gs
