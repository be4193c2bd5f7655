// threadpool.h: run blocking functions on native threads while the calling
// greenlet waits cooperatively (gevent.threadpool).
#pragma once

#include <netdb.h>

#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "greenscope/types.h"

namespace gs {

namespace detail {
struct PoolJob;
class ThreadPoolImpl;
}  // namespace detail

// ThreadPool runs functions on up to `max_threads` native threads, started
// on demand and kept until the pool is destroyed. max_threads 0 (no job
// could ever run) or past PTRDIFF_MAX (a negative number) is a UsageError. It belongs to the hub of
// the thread that created it; apply() must be called from that thread.
// While jobs are outstanding the pool keeps the hub's loop alive.
class ThreadPool {
 public:
  explicit ThreadPool(std::size_t max_threads = 10);
  // ~ThreadPool() waits for running jobs to finish (a native thread cannot be
  // interrupted) and drops queued ones.
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // apply() runs f() on a pool thread and returns its value or rethrows its
  // exception in the calling greenlet, which waits cooperatively meanwhile.
  // If the greenlet is killed while waiting, f still runs to completion and
  // its value is dropped. f must not use this hub's greenlets or primitives.
  template <class F>
  auto apply(F&& f) -> std::invoke_result_t<std::decay_t<F>&> {
    using R = std::invoke_result_t<std::decay_t<F>&>;
    if constexpr (std::is_void_v<R>) {
      run(std::function<void()>(std::forward<F>(f)));
    } else {
      auto slot = std::make_shared<std::optional<R>>();
      run([fn = std::forward<F>(f), slot]() mutable { slot->emplace(fn()); });
      return std::move(**slot);
    }
  }

  std::size_t max_threads() const;
  std::size_t threads_started() const;
  // pending() counts jobs submitted and not yet finished.
  std::size_t pending() const;

 private:
  // run() submits `job` and waits for it; rethrows what it threw.
  void run(std::function<void()> job);
  std::unique_ptr<detail::ThreadPoolImpl> impl_;
};

// default_threadpool() is the calling thread's hub's pool, created on first
// use with RuntimeOptions::threadpool_size threads.
ThreadPool& default_threadpool();

// run_in_thread() is default_threadpool().apply(f).
template <class F>
auto run_in_thread(F&& f) {
  return default_threadpool().apply(std::forward<F>(f));
}

// AddressInfo is one result of gs::getaddrinfo().
struct AddressInfo {
  int family = 0;
  int socktype = 0;
  int protocol = 0;
  std::vector<unsigned char> address;  // the sockaddr bytes
  std::string canonical_name;
};

// GaiError is a failed name lookup: code() is the EAI_* value, what() names
// the host and gai_strerror's text.
class GaiError : public std::runtime_error {
 public:
  GaiError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

// getaddrinfo() resolves `host`/`service` on the default thread pool (libc's
// resolver blocks); throws GaiError, with EAI_NONAME for a host or service
// holding a NUL byte (libc would resolve the name cut at the NUL).
std::vector<AddressInfo> getaddrinfo(const std::string& host, const std::string& service, int family = AF_UNSPEC,
                                     int socktype = SOCK_STREAM, int flags = 0);

}  // namespace gs
