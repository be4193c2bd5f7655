// patch.cpp: gs::patch_all(). The runtime defines libc's blocking calls
// itself; each one asks cooperating() whether to act and otherwise calls
// libc's own definition (sys.h) unchanged.
//
// How a call is made cooperative without changing the fd's flags (other
// processes and children may share the open file description, so the
// O_NONBLOCK flag is never left changed):
//   - sockets: the call is made with MSG_DONTWAIT (read() becomes recv());
//     EAGAIN on a blocking socket means "wait for the fd, then retry";
//   - pipes, FIFOs, terminals: poll() with a zero timeout first, wait while
//     not ready; writes larger than PIPE_BUF go in PIPE_BUF pieces, each of
//     which fits once poll() says the fd is writable;
//   - connect() on a blocking socket flips O_NONBLOCK for the one call (a
//     socket being connected is the caller's own).
// A per-fd cache remembers which fds are sockets; it is only a hint (a wrong
// "socket" is corrected by ENOTSOCK, a wrong "not a socket" still works).
#include "greenscope/patch.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

#include "greenscope/detail/deadline.h"
#include "greenscope/detail/env.h"
#include "greenscope/detail/own_fd_table.h"
#include "greenscope/hub.h"
#include "greenscope/io.h"
#include "hub_impl.h"
#include "io_wait.h"
#include "greenscope/stacks.h"
#include "monitor.h"
#include "nocancel.h"
#include "sys.h"

namespace gs::detail {

namespace sys {
Libc g_libc{};

namespace {
template <class Fn>
void resolve_one(Fn*& slot, const char* name) {
  void* p = dlsym(RTLD_NEXT, name);
  if (p == nullptr) {
    // Without libc's definition the process cannot do I/O at all.
    static const char msg[] = "greenscope: dlsym(RTLD_NEXT) cannot find a libc function; aborting\n";
    ::syscall(SYS_write, 2, msg, sizeof msg - 1);
    std::abort();
  }
  slot = reinterpret_cast<Fn*>(p);
}
}  // namespace

void resolve() {
  Libc l{};
  resolve_one(l.read, "read");
  resolve_one(l.write, "write");
  resolve_one(l.readv, "readv");
  resolve_one(l.writev, "writev");
  resolve_one(l.recv, "recv");
  resolve_one(l.recvfrom, "recvfrom");
  resolve_one(l.recvmsg, "recvmsg");
  resolve_one(l.send, "send");
  resolve_one(l.sendto, "sendto");
  resolve_one(l.sendmsg, "sendmsg");
  resolve_one(l.accept, "accept");
  resolve_one(l.accept4, "accept4");
  resolve_one(l.connect, "connect");
  resolve_one(l.poll, "poll");
  resolve_one(l.select, "select");
  resolve_one(l.sleep, "sleep");
  resolve_one(l.usleep, "usleep");
  resolve_one(l.nanosleep, "nanosleep");
  resolve_one(l.getaddrinfo, "getaddrinfo");
  resolve_one(l.dup2, "dup2");
  resolve_one(l.dup3, "dup3");
  resolve_one(l.fsync, "fsync");
  resolve_one(l.fdatasync, "fdatasync");
  resolve_one(l.clock_nanosleep, "clock_nanosleep");
  resolve_one(l.gethostbyname, "gethostbyname");
  resolve_one(l.gethostbyname_r, "gethostbyname_r");
  resolve_one(l.getnameinfo, "getnameinfo");
  resolve_one(l.close, "close");  // last: libc() tests it
  g_libc = l;
}
}  // namespace sys

// getaddrinfo_in_pool() runs libc's getaddrinfo on the hub's ThreadPool
// (threadpool.cpp).
int getaddrinfo_in_pool(const char* node, const char* service, const addrinfo* hints, addrinfo** res);

// PatchedWaitScope reports a patched call's wait to the observer: the span
// in which the calling greenlet is suspended on behalf of `call`.
class PatchedWaitScope {
 public:
  PatchedWaitScope(const char* call, int fd) : call_(call), fd_(fd) {
    if (Observer* o = observer_if_any()) [[unlikely]] o->on_patched_wait_begin(call_, fd_);
  }
  ~PatchedWaitScope() {
    if (Observer* o = observer_if_any()) [[unlikely]] o->on_patched_wait_end(call_, fd_);
  }
  PatchedWaitScope(const PatchedWaitScope&) = delete;
  PatchedWaitScope& operator=(const PatchedWaitScope&) = delete;

 private:
  const char* call_;
  int fd_;
};

namespace {

std::atomic<bool> g_patched{false};

// report_blocking() tells the observer (and the printed report, if asked
// for) about a call that blocked the hub's thread for `ns`.
[[gnu::cold]] [[gnu::noinline]] void report_blocking(const char* call, int fd, std::int64_t ns) {
#if defined(GS_SANITIZE_THREAD)
  // Off the TSan fiber the blocking call ran on (context.h); nothing in the
  // report switches greenlets, so one spare per thread will do. Threads leak
  // theirs at exit: TSan builds only, one small state per thread.
  thread_local void* identity = nullptr;
  thread_local void* spare = nullptr;
  TsanPatchedCall scope(identity, spare);
#endif
  std::uintptr_t pcs[kMaxStackDepth];
  const std::size_t n = capture_stack(pcs, kMaxStackDepth);
  if (Observer* o = observer_if_any()) o->on_blocking_call(call, fd, ns, pcs, n);
  note_blocking_call(call, fd, ns, pcs, n);
}

// timed() runs a call that may block the thread: libc's own, passed through
// on a hub thread. While it runs, the stall monitor can unwind the caller
// from `frame` (the interposer's frame: saved rbp, then the return address
// into the caller) instead of signalling a thread blocked in the kernel. With
// patch_all() active, a call over the blocking threshold is reported.
template <class Call>
[[gnu::always_inline]] inline auto timed(const char* what, int fd, void* frame, Call call) -> decltype(call()) {
  Beat* const b = tls_beat;
  if (!monitor_on() || b == nullptr) [[likely]] return call();
  bool published = false;
  if (frame != nullptr) {
    auto* const f = static_cast<std::uintptr_t*>(frame);
    const GreenletBase* g = HubImpl::tls_hub != nullptr ? HubImpl::tls_hub->running() : nullptr;
    published = b->blocking.publish(f[1], reinterpret_cast<std::uintptr_t>(f + 2), f[0], g != nullptr ? g->stack().hi : 0);
  }
  const std::uint64_t t0 = mono_now_ns();
  auto result = call();
  const int saved_errno = errno;
  const std::int64_t ns = static_cast<std::int64_t>(mono_now_ns() - t0);
  if (published) b->blocking.clear();
  const std::int64_t threshold = g_blocking_threshold_ns.load(std::memory_order_relaxed);
  if (threshold >= 0 && ns > threshold && g_patched.load(std::memory_order_relaxed)) [[unlikely]]
    report_blocking(what, fd, ns);
  errno = saved_errno;
  return result;
}

// cooperate() runs a patched call's cooperative path; under TSan, on the
// calling greenlet's second fiber (context.h, TsanPatchedCall).
template <class Call>
[[gnu::always_inline]] inline auto cooperate(Call call) -> decltype(call()) {
#if defined(GS_SANITIZE_THREAD)
  const TsanPatchedCall scope = HubImpl::tls_hub->patched_call_fibers();
#endif
  return call();
}

// cooperating() is true when the calling code is a greenlet that may wait:
// patched, this thread has a hub, and the hub itself is not the caller.
inline bool cooperating() {
  if (!g_patched.load(std::memory_order_relaxed)) [[likely]] return false;
  HubImpl* hub = HubImpl::tls_hub;
  return hub != nullptr && hub->running() != &hub->hub_greenlet_base() && !hub->tearing_down();
}

// --- The socket hint cache ----------------------------------------------------
enum FdKind : std::uint8_t { kUnknown = 0, kSocket = 1, kNotSocket = 2 };
constexpr int kKindCacheSize = 1 << 16;
std::atomic<std::uint8_t> g_kind[kKindCacheSize];

FdKind kind_of(int fd) {
  if (fd < 0 || fd >= kKindCacheSize) return kUnknown;
  return static_cast<FdKind>(g_kind[fd].load(std::memory_order_relaxed));
}
void set_kind(int fd, FdKind kind) {
  if (fd >= 0 && fd < kKindCacheSize) g_kind[fd].store(kind, std::memory_order_relaxed);
}

using sys::libc;

// user_nonblocking() is true when the program itself made `fd` non-blocking:
// then it expects EAGAIN, not a wait.
bool user_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  return flags != -1 && (flags & O_NONBLOCK) != 0;
}

// socket_timeout() is SO_RCVTIMEO/SO_SNDTIMEO as a Duration; kForever if unset
// or not a socket.
Duration socket_timeout(int fd, int option) {
  timeval tv{};
  socklen_t len = sizeof tv;
  if (::getsockopt(fd, SOL_SOCKET, option, &tv, &len) != 0) return kForever;
  if (tv.tv_sec == 0 && tv.tv_usec == 0) return kForever;
  return Duration(static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6);
}

bool would_block(ssize_t r) { return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK); }

// wait_within() waits for `fd` until `deadline`, the libc way: 0 when
// ready; -1 with errno EAGAIN when the deadline passed (now or before), or
// EBADF when the fd was closed meanwhile.
int wait_within(int fd, int events, const Deadline& deadline, const char* what) {
  if (deadline.expired()) {
    errno = EAGAIN;
    return -1;
  }
  PatchedWaitScope scope(what, fd);
  switch (wait_fd(fd, events, deadline.remaining(), what)) {
    case IoWaitResult::Ready: return 0;
    case IoWaitResult::TimedOut: errno = EAGAIN; return -1;
    case IoWaitResult::Closed: errno = EBADF; return -1;
  }
  return 0;
}

// retry_on_socket() repeats `attempt` (a MSG_DONTWAIT call) on a blocking
// socket, waiting for `events` between tries, as the blocking call would
// wait: until it succeeds, fails otherwise, or SO_RCVTIMEO/SO_SNDTIMEO
// (`timeout_option`) passes (then -1/EAGAIN, as libc).
template <class Attempt>
ssize_t retry_on_socket(int fd, int events, int timeout_option, const char* what, Attempt attempt) {
  std::optional<Deadline> deadline;
  for (;;) {
    const ssize_t r = attempt();
    if (!would_block(r)) return r;
    if (user_nonblocking(fd)) {
      errno = EAGAIN;
      return -1;
    }
    if (!deadline) deadline.emplace(socket_timeout(fd, timeout_option), what);
    if (wait_within(fd, events, *deadline, what) != 0) return -1;
  }
}

// wait_until_ready() waits for a fd the hint calls "not a socket" (pipe,
// FIFO, terminal) to be ready for `events`. Returns 0 when the call may go
// ahead (ready, or the program wants EAGAIN, or poll reports an error the
// call will report too); -1 with errno EBADF when the fd was closed
// meanwhile, or EAGAIN when it proved a socket whose SO_RCVTIMEO/SO_SNDTIMEO
// ran out.
int wait_until_ready(int fd, short poll_events, int events, const char* what) {
  std::optional<Deadline> deadline;
  for (;;) {
    pollfd p{fd, poll_events, 0};
    const int r = libc().poll(&p, 1, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r != 0) return 0;
    if (user_nonblocking(fd)) return 0;
    if (!deadline) {
      // fd numbers are reused behind the hint's back (fclose() closes inside
      // libc), so before waiting, check whether a socket timeout applies.
      int type = 0;
      socklen_t len = sizeof type;
      const bool socket = ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0;
      if (socket) set_kind(fd, kSocket);
      deadline.emplace(socket ? socket_timeout(fd, (events & kIoWrite) ? SO_SNDTIMEO : SO_RCVTIMEO) : kForever, what);
    }
    if (wait_within(fd, events, *deadline, what) != 0) return -1;
  }
}

bool is_regular_or_block(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode));
}

// write_not_socket() is write() to a pipe, FIFO or terminal: PIPE_BUF pieces,
// each after poll() said there is room, so none can block the thread.
ssize_t write_not_socket(int fd, const char* buf, size_t n, const char* what) {
  if (n > PIPE_BUF && (is_regular_or_block(fd) || user_nonblocking(fd)))
    return timed(what, fd, nullptr, [&] { return libc().write(fd, buf, n); });
  size_t done = 0;
  while (done < n || n == 0) {
    if (wait_until_ready(fd, POLLOUT, kIoWrite, what) != 0) return done > 0 ? static_cast<ssize_t>(done) : -1;
    const ssize_t r = libc().write(fd, buf + done, std::min<size_t>(n - done, PIPE_BUF));
    if (r < 0) return done > 0 ? static_cast<ssize_t>(done) : -1;
    done += static_cast<size_t>(r);
    if (n == 0) break;
  }
  return static_cast<ssize_t>(done);
}

// read_not_socket() is readv() on a pipe, FIFO, terminal or file. One
// preadv2(RWF_NOWAIT) reads without blocking where the kernel supports it
// for the fd (pipes and cached file data on recent kernels): one syscall when
// data is there. Otherwise poll() says when to read.
ssize_t read_not_socket(int fd, const iovec* iov, int count, const char* what) {
  const ssize_t r = ::preadv2(fd, iov, count, -1, RWF_NOWAIT);
  if (r >= 0) return r;
  if (errno == EAGAIN && is_regular_or_block(fd)) {
    // Not cached yet: files do not wait, so this blocks the thread.
    return timed(what, fd, nullptr, [&] { return libc().readv(fd, iov, count); });
  }
  if (errno != EAGAIN && errno != EOPNOTSUPP && errno != EINVAL) return r;  // EBADF, EISDIR...
  if (wait_until_ready(fd, POLLIN, kIoRead, what) != 0) return -1;
  return libc().readv(fd, iov, count);
}

// Iov is a mutable copy of an iovec array that partial writes advance.
class Iov {
 public:
  Iov(const iovec* iov, int count) : v_(iov, iov + std::max(count, 0)) {}
  iovec* data() { return v_.data() + first_; }
  int count() const { return static_cast<int>(v_.size() - first_); }
  size_t total() const {
    size_t t = 0;
    for (size_t i = first_; i < v_.size(); ++i) t += v_[i].iov_len;
    return t;
  }
  void advance(size_t n) {
    while (n > 0 && first_ < v_.size()) {
      const size_t step = std::min(n, v_[first_].iov_len);
      v_[first_].iov_base = static_cast<char*>(v_[first_].iov_base) + step;
      v_[first_].iov_len -= step;
      n -= step;
      if (v_[first_].iov_len == 0) ++first_;
    }
    while (first_ < v_.size() && v_[first_].iov_len == 0) ++first_;
  }

 private:
  std::vector<iovec> v_;
  size_t first_ = 0;
};

// send_fully() repeats a MSG_DONTWAIT send step until `total` bytes went out,
// as a blocking stream socket does; a short count only after an error or a
// timeout that came after some bytes were sent.
template <class Step>
ssize_t send_fully(int fd, size_t total, const char* what, Step step) {
  size_t done = 0;
  for (;;) {
    const ssize_t r = retry_on_socket(fd, kIoWrite, SO_SNDTIMEO, what, [&] { return step(done); });
    if (r < 0) return done > 0 ? static_cast<ssize_t>(done) : -1;
    done += static_cast<size_t>(r);
    if (done >= total || r == 0) return static_cast<ssize_t>(done);
    if (user_nonblocking(fd)) return static_cast<ssize_t>(done);
  }
}

// --- The interposed calls' bodies -------------------------------------------
ssize_t coop_read(int fd, void* buf, size_t n) {
  if (kind_of(fd) != kNotSocket) {
    const ssize_t r = retry_on_socket(fd, kIoRead, SO_RCVTIMEO, "read()",
                                      [&] { return sys::nocancel::recv(fd, buf, n, MSG_DONTWAIT); });
    if (r >= 0 || errno != ENOTSOCK) {
      set_kind(fd, kSocket);
      return r;
    }
    set_kind(fd, kNotSocket);
  }
  iovec v{buf, n};
  return read_not_socket(fd, &v, 1, "read()");
}

ssize_t coop_write(int fd, const void* buf, size_t n) {
  if (kind_of(fd) != kNotSocket) {
    const char* p = static_cast<const char*>(buf);
    const ssize_t r = send_fully(fd, n, "write()", [&](size_t done) {
      return sys::nocancel::send(fd, p + done, n - done, MSG_DONTWAIT);
    });
    if (r >= 0 || errno != ENOTSOCK) {
      set_kind(fd, kSocket);
      return r;
    }
    set_kind(fd, kNotSocket);
  }
  return write_not_socket(fd, static_cast<const char*>(buf), n, "write()");
}

ssize_t coop_readv(int fd, const iovec* iov, int count) {
  if (kind_of(fd) != kNotSocket) {
    const ssize_t r = retry_on_socket(fd, kIoRead, SO_RCVTIMEO, "readv()", [&] {
      msghdr m{};
      m.msg_iov = const_cast<iovec*>(iov);
      m.msg_iovlen = static_cast<size_t>(std::max(count, 0));
      return libc().recvmsg(fd, &m, MSG_DONTWAIT);
    });
    if (r >= 0 || errno != ENOTSOCK) {
      set_kind(fd, kSocket);
      return r;
    }
    set_kind(fd, kNotSocket);
  }
  return read_not_socket(fd, iov, count, "readv()");
}

ssize_t coop_writev(int fd, const iovec* iov, int count) {
  if (count < 0 || count > IOV_MAX) return libc().writev(fd, iov, count);  // EINVAL
  Iov rest(iov, count);
  const size_t total = rest.total();
  if (kind_of(fd) != kNotSocket) {
    const ssize_t r = send_fully(fd, total, "writev()", [&](size_t done) {
      Iov now(iov, count);
      now.advance(done);
      msghdr m{};
      m.msg_iov = now.data();
      m.msg_iovlen = static_cast<size_t>(now.count());
      return libc().sendmsg(fd, &m, MSG_DONTWAIT);
    });
    if (r >= 0 || errno != ENOTSOCK) {
      set_kind(fd, kSocket);
      return r;
    }
    set_kind(fd, kNotSocket);
  }
  if (total <= PIPE_BUF) {
    if (wait_until_ready(fd, POLLOUT, kIoWrite, "writev()") != 0) return -1;
    return libc().writev(fd, iov, count);
  }
  // Larger than PIPE_BUF: the pieces of each buffer in turn.
  size_t done = 0;
  for (int i = 0; i < count; ++i) {
    if (iov[i].iov_len == 0) continue;
    const ssize_t r = write_not_socket(fd, static_cast<const char*>(iov[i].iov_base), iov[i].iov_len, "writev()");
    if (r < 0) return done > 0 ? static_cast<ssize_t>(done) : -1;
    done += static_cast<size_t>(r);
    if (static_cast<size_t>(r) < iov[i].iov_len) break;
  }
  return static_cast<ssize_t>(done);
}

ssize_t coop_recvfrom(int fd, void* buf, size_t n, int flags, sockaddr* from, socklen_t* fromlen,
                      const char* what) {
  if (flags & MSG_WAITALL) {
    // Blocking MSG_WAITALL waits for all n bytes (or EOF, or an error).
    size_t done = 0;
    char* p = static_cast<char*>(buf);
    while (done < n) {
      const ssize_t r = retry_on_socket(fd, kIoRead, SO_RCVTIMEO, what, [&] {
        return sys::nocancel::recvfrom(fd, p + done, n - done, (flags & ~MSG_WAITALL) | MSG_DONTWAIT, from, fromlen);
      });
      if (r < 0) return done > 0 ? static_cast<ssize_t>(done) : -1;
      if (r == 0) break;
      done += static_cast<size_t>(r);
    }
    return static_cast<ssize_t>(done);
  }
  return retry_on_socket(fd, kIoRead, SO_RCVTIMEO, what,
                         [&] { return sys::nocancel::recvfrom(fd, buf, n, flags | MSG_DONTWAIT, from, fromlen); });
}

int coop_accept(int fd, sockaddr* addr, socklen_t* len, int flags, bool is_accept4) {
  auto call = [&] { return is_accept4 ? libc().accept4(fd, addr, len, flags) : libc().accept(fd, addr, len); };
  if (user_nonblocking(fd)) return call();
  // accept() has no MSG_DONTWAIT: wait until a connection is queued. Another
  // process sharing the listening socket may still take it first; then this
  // accept blocks like the unpatched one would.
  Deadline deadline(socket_timeout(fd, SO_RCVTIMEO), is_accept4 ? "accept4()" : "accept()");
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    const int r = libc().poll(&p, 1, 0);
    if (r != 0 && !(r < 0 && errno == EINTR)) return call();
    if (wait_within(fd, kIoRead, deadline, is_accept4 ? "accept4()" : "accept()") != 0) return -1;
  }
}

int coop_connect(int fd, const sockaddr* addr, socklen_t len) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags == -1 || (flags & O_NONBLOCK)) return libc().connect(fd, addr, len);
  Deadline deadline(socket_timeout(fd, SO_SNDTIMEO), "connect()");
  for (;;) {
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    int r = libc().connect(fd, addr, len);
    const int saved = errno;
    ::fcntl(fd, F_SETFL, flags);
    if (r == 0) return 0;
    if (saved != EINPROGRESS && saved != EAGAIN) {
      errno = saved;
      return -1;
    }
    // EINPROGRESS: TCP handshake under way; EAGAIN: a Unix socket's backlog
    // is full, retry once there is room.
    const IoWaitResult waited = [&] {
      PatchedWaitScope scope("connect()", fd);
      return wait_fd(fd, kIoWrite, deadline.remaining(), "connect()");
    }();
    switch (waited) {
      case IoWaitResult::Ready: break;
      case IoWaitResult::TimedOut: errno = saved == EINPROGRESS ? EINPROGRESS : EAGAIN; return -1;
      case IoWaitResult::Closed: errno = EBADF; return -1;
    }
    if (saved == EAGAIN) continue;
    int error = 0;
    socklen_t elen = sizeof error;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &elen) != 0) return -1;
    if (error != 0) {
      errno = error;
      return -1;
    }
    return 0;
  }
}

Duration from_ms(int ms) { return ms < 0 ? kForever : Duration(ms / 1000.0); }

int coop_poll(pollfd* fds, nfds_t n, int timeout_ms) {
  int r = libc().poll(fds, n, 0);
  if (r != 0 || timeout_ms == 0) return r;
  Deadline deadline(from_ms(timeout_ms), "poll()");
  for (;;) {
    {
      PatchedWaitScope scope("poll()", n == 1 ? fds[0].fd : -1);
      wait_fds(fds, n, deadline.remaining(), "poll()");  // Closed shows as POLLNVAL below
    }
    r = libc().poll(fds, n, 0);
    if (r != 0 || deadline.expired()) return r;
  }
}

int coop_select(int nfds, fd_set* rd, fd_set* wr, fd_set* ex, timeval* tv) {
  const bool bad_tv = tv != nullptr && (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000);
  if (nfds < 0 || nfds > FD_SETSIZE || bad_tv) return libc().select(nfds, rd, wr, ex, tv);  // libc's EINVAL
  const fd_set rd0 = rd ? *rd : fd_set{}, wr0 = wr ? *wr : fd_set{}, ex0 = ex ? *ex : fd_set{};
  timeval zero{0, 0};
  int r = libc().select(nfds, rd, wr, ex, &zero);
  const bool no_wait = tv != nullptr && tv->tv_sec == 0 && tv->tv_usec == 0;
  if (r != 0 || no_wait) return r;
  std::vector<pollfd> fds;
  for (int fd = 0; fd < nfds; ++fd) {
    short events = 0;
    if (rd && FD_ISSET(fd, &rd0)) events |= POLLIN;
    if (wr && FD_ISSET(fd, &wr0)) events |= POLLOUT;
    if (ex && FD_ISSET(fd, &ex0)) events |= POLLPRI;
    if (events != 0) fds.push_back(pollfd{fd, events, 0});
  }
  Deadline deadline(tv == nullptr ? kForever : Duration(static_cast<double>(tv->tv_sec) + tv->tv_usec / 1e6),
                    "select()");
  for (;;) {
    {
      PatchedWaitScope scope("select()", fds.size() == 1 ? fds[0].fd : -1);
      wait_fds(fds.data(), fds.size(), deadline.remaining(), "select()");
    }
    if (rd) *rd = rd0;
    if (wr) *wr = wr0;
    if (ex) *ex = ex0;
    zero = timeval{0, 0};
    r = libc().select(nfds, rd, wr, ex, &zero);
    if (r != 0 || deadline.expired()) break;
  }
  if (tv != nullptr && !deadline.forever()) {  // Linux reports the time left
    const double left = deadline.remaining().count();
    tv->tv_sec = static_cast<time_t>(left);
    tv->tv_usec = static_cast<suseconds_t>((left - static_cast<double>(tv->tv_sec)) * 1e6);
  }
  return r;
}

// forget_fd() is what close() and dup2() onto `fd` do first: wake its
// waiters and drop the socket hint. True when the close was taken over
// (waiters on other threads; see close_with_waiters()).
bool forget_fd(int fd, bool defer_close) {
  if (left_program_fds()) return false;  // a number of its own table (the monitor's), not the program's
  set_kind(fd, kUnknown);
  return may_have_waiters() && close_with_waiters(fd, defer_close);
}

__attribute__((constructor)) void patch_from_environment() {
  sys::resolve();
  if (env_flag("GREENSCOPE_PATCH_ALL", "calls stay unpatched").value_or(false)) gs::patch_all();
}

}  // namespace
}  // namespace gs::detail

namespace gs {
void patch_all() { detail::g_patched.store(true, std::memory_order_relaxed); }
bool patched() { return detail::g_patched.load(std::memory_order_relaxed); }
void unpatch_all() { detail::g_patched.store(false, std::memory_order_relaxed); }
}  // namespace gs

// --- The interposers ------------------------------------------------------------
// Same signatures as glibc's declarations; exported from the shared library.
using gs::detail::cooperating;
namespace gsd = gs::detail;

extern "C" {

ssize_t read(int fd, void* buf, size_t n) {
  return cooperating() ? gsd::cooperate([&] { return gsd::coop_read(fd, buf, n); }) : gsd::timed("read()", fd, __builtin_frame_address(0), [&] { return gsd::libc().read(fd, buf, n); });
}

ssize_t write(int fd, const void* buf, size_t n) {
  return cooperating() ? gsd::cooperate([&] { return gsd::coop_write(fd, buf, n); }) : gsd::timed("write()", fd, __builtin_frame_address(0), [&] { return gsd::libc().write(fd, buf, n); });
}

ssize_t readv(int fd, const struct iovec* iov, int count) {
  return cooperating() ? gsd::cooperate([&] { return gsd::coop_readv(fd, iov, count); }) : gsd::timed("readv()", fd, __builtin_frame_address(0), [&] { return gsd::libc().readv(fd, iov, count); });
}

ssize_t writev(int fd, const struct iovec* iov, int count) {
  return cooperating() ? gsd::cooperate([&] { return gsd::coop_writev(fd, iov, count); }) : gsd::timed("writev()", fd, __builtin_frame_address(0), [&] { return gsd::libc().writev(fd, iov, count); });
}

ssize_t recv(int fd, void* buf, size_t n, int flags) {
  if (!cooperating() || (flags & MSG_DONTWAIT)) return gsd::timed("recv()", fd, __builtin_frame_address(0), [&] { return gsd::libc().recv(fd, buf, n, flags); });
  return gsd::cooperate([&] { return gsd::coop_recvfrom(fd, buf, n, flags, nullptr, nullptr, "recv()"); });
}

ssize_t recvfrom(int fd, void* buf, size_t n, int flags, struct sockaddr* from, socklen_t* fromlen) {
  if (!cooperating() || (flags & MSG_DONTWAIT)) return gsd::timed("recvfrom()", fd, __builtin_frame_address(0), [&] { return gsd::libc().recvfrom(fd, buf, n, flags, from, fromlen); });
  return gsd::cooperate([&] { return gsd::coop_recvfrom(fd, buf, n, flags, from, fromlen, "recvfrom()"); });
}

ssize_t recvmsg(int fd, struct msghdr* msg, int flags) {
  if (!cooperating() || (flags & MSG_DONTWAIT)) return gsd::timed("recvmsg()", fd, __builtin_frame_address(0), [&] { return gsd::libc().recvmsg(fd, msg, flags); });
  return gsd::cooperate([&] {
    return gsd::retry_on_socket(fd, gs::kIoRead, SO_RCVTIMEO, "recvmsg()",
                                [&] { return gsd::libc().recvmsg(fd, msg, flags | MSG_DONTWAIT); });
  });
}

ssize_t send(int fd, const void* buf, size_t n, int flags) {
  if (!cooperating() || (flags & MSG_DONTWAIT)) return gsd::timed("send()", fd, __builtin_frame_address(0), [&] { return gsd::libc().send(fd, buf, n, flags); });
  const char* p = static_cast<const char*>(buf);
  return gsd::cooperate([&] {
    return gsd::send_fully(fd, n, "send()",
                           [&](size_t done) { return gsd::sys::nocancel::send(fd, p + done, n - done, flags | MSG_DONTWAIT); });
  });
}

ssize_t sendto(int fd, const void* buf, size_t n, int flags, const struct sockaddr* to, socklen_t tolen) {
  if (!cooperating() || (flags & MSG_DONTWAIT)) return gsd::timed("sendto()", fd, __builtin_frame_address(0), [&] { return gsd::libc().sendto(fd, buf, n, flags, to, tolen); });
  const char* p = static_cast<const char*>(buf);
  return gsd::cooperate([&] {
    return gsd::send_fully(fd, n, "sendto()", [&](size_t done) {
      return gsd::sys::nocancel::sendto(fd, p + done, n - done, flags | MSG_DONTWAIT, to, tolen);
    });
  });
}

ssize_t sendmsg(int fd, const struct msghdr* msg, int flags) {
  if (!cooperating() || (flags & MSG_DONTWAIT)) return gsd::timed("sendmsg()", fd, __builtin_frame_address(0), [&] { return gsd::libc().sendmsg(fd, msg, flags); });
  gsd::Iov rest(msg->msg_iov, static_cast<int>(msg->msg_iovlen));
  return gsd::cooperate([&] {
    return gsd::send_fully(fd, rest.total(), "sendmsg()", [&](size_t done) {
      gsd::Iov now(msg->msg_iov, static_cast<int>(msg->msg_iovlen));
      now.advance(done);
      msghdr m = *msg;
      m.msg_iov = now.data();
      m.msg_iovlen = static_cast<size_t>(now.count());
      if (done > 0) {  // ancillary data went with the first bytes
        m.msg_control = nullptr;
        m.msg_controllen = 0;
      }
      return gsd::libc().sendmsg(fd, &m, flags | MSG_DONTWAIT);
    });
  });
}

int accept(int fd, struct sockaddr* addr, socklen_t* len) {
  return cooperating() ? gsd::cooperate([&] { return gsd::coop_accept(fd, addr, len, 0, false); }) : gsd::timed("accept()", fd, __builtin_frame_address(0), [&] { return gsd::libc().accept(fd, addr, len); });
}

int accept4(int fd, struct sockaddr* addr, socklen_t* len, int flags) {
  return cooperating() ? gsd::cooperate([&] { return gsd::coop_accept(fd, addr, len, flags, true); }) : gsd::timed("accept4()", fd, __builtin_frame_address(0), [&] { return gsd::libc().accept4(fd, addr, len, flags); });
}

int connect(int fd, const struct sockaddr* addr, socklen_t len) {
  return cooperating() ? gsd::cooperate([&] { return gsd::coop_connect(fd, addr, len); }) : gsd::timed("connect()", fd, __builtin_frame_address(0), [&] { return gsd::libc().connect(fd, addr, len); });
}

int poll(struct pollfd* fds, nfds_t n, int timeout) {
  return cooperating() ? gsd::cooperate([&] { return gsd::coop_poll(fds, n, timeout); }) : gsd::timed("poll()", -1, __builtin_frame_address(0), [&] { return gsd::libc().poll(fds, n, timeout); });
}

int select(int nfds, fd_set* rd, fd_set* wr, fd_set* ex, struct timeval* tv) {
  return cooperating() ? gsd::cooperate([&] { return gsd::coop_select(nfds, rd, wr, ex, tv); }) : gsd::timed("select()", -1, __builtin_frame_address(0), [&] { return gsd::libc().select(nfds, rd, wr, ex, tv); });
}

unsigned sleep(unsigned seconds) {
  if (!cooperating()) return gsd::timed("sleep()", -1, __builtin_frame_address(0), [&] { return gsd::libc().sleep(seconds); });
  return gsd::cooperate([&] {
    gsd::PatchedWaitScope scope("sleep()", -1);
    gs::sleep(std::chrono::seconds(seconds));
    return 0u;
  });
}

int usleep(useconds_t usec) {
  if (!cooperating()) return gsd::timed("usleep()", -1, __builtin_frame_address(0), [&] { return gsd::libc().usleep(usec); });
  return gsd::cooperate([&] {
    gsd::PatchedWaitScope scope("usleep()", -1);
    gs::sleep(std::chrono::microseconds(usec));
    return 0;
  });
}

int nanosleep(const struct timespec* req, struct timespec* rem) {
  if (!cooperating()) return gsd::timed("nanosleep()", -1, __builtin_frame_address(0), [&] { return gsd::libc().nanosleep(req, rem); });
  if (req == nullptr || req->tv_nsec < 0 || req->tv_nsec > 999999999 || req->tv_sec < 0) {
    errno = EINVAL;
    return -1;
  }
  return gsd::cooperate([&] {
    gsd::PatchedWaitScope scope("nanosleep()", -1);
    gs::sleep(std::chrono::seconds(req->tv_sec) + std::chrono::nanoseconds(req->tv_nsec));
    if (rem != nullptr) *rem = timespec{0, 0};
    return 0;
  });
}

int getaddrinfo(const char* node, const char* service, const struct addrinfo* hints, struct addrinfo** res) {
  if (!cooperating()) return gsd::timed("getaddrinfo()", -1, __builtin_frame_address(0), [&] { return gsd::libc().getaddrinfo(node, service, hints, res); });
  return gsd::cooperate([&] {
    gsd::PatchedWaitScope scope("getaddrinfo()", -1);
    return gsd::getaddrinfo_in_pool(node, service, hints, res);
  });
}

// Calls that stay blocking under patch_all(): passed through, but timed, so
// that one that holds the thread past the blocking threshold is reported.
int fsync(int fd) { return gsd::timed("fsync()", fd, __builtin_frame_address(0), [&] { return gsd::libc().fsync(fd); }); }

int fdatasync(int fd) {
  return gsd::timed("fdatasync()", fd, __builtin_frame_address(0), [&] { return gsd::libc().fdatasync(fd); });
}

int clock_nanosleep(clockid_t clock, int flags, const struct timespec* req, struct timespec* rem) {
  return gsd::timed("clock_nanosleep()", -1, __builtin_frame_address(0),
                    [&] { return gsd::libc().clock_nanosleep(clock, flags, req, rem); });
}

struct hostent* gethostbyname(const char* name) {
  return gsd::timed("gethostbyname()", -1, __builtin_frame_address(0), [&] { return gsd::libc().gethostbyname(name); });
}

int gethostbyname_r(const char* name, struct hostent* ret, char* buf, size_t len, struct hostent** result, int* err) {
  return gsd::timed("gethostbyname_r()", -1, __builtin_frame_address(0),
                    [&] { return gsd::libc().gethostbyname_r(name, ret, buf, len, result, err); });
}

int getnameinfo(const struct sockaddr* addr, socklen_t addrlen, char* host, socklen_t hostlen, char* serv,
                socklen_t servlen, int flags) {
  return gsd::timed("getnameinfo()", -1, __builtin_frame_address(0),
                    [&] { return gsd::libc().getnameinfo(addr, addrlen, host, hostlen, serv, servlen, flags); });
}

int close(int fd) {
  if (gsd::forget_fd(fd, /*defer_close=*/true)) return 0;
  return gsd::libc().close(fd);
}

int dup2(int oldfd, int newfd) {
  if (oldfd != newfd) gsd::forget_fd(newfd, false);
  return gsd::libc().dup2(oldfd, newfd);
}

int dup3(int oldfd, int newfd, int flags) {
  if (oldfd != newfd) gsd::forget_fd(newfd, false);
  return gsd::libc().dup3(oldfd, newfd, flags);
}

// _FORTIFY_SOURCE builds of libraries call these checked variants.
[[noreturn]] void __chk_fail(void);
ssize_t __read_chk(int fd, void* buf, size_t n, size_t buflen) {
  if (n > buflen) __chk_fail();
  return read(fd, buf, n);
}
ssize_t __recv_chk(int fd, void* buf, size_t n, size_t buflen, int flags) {
  if (n > buflen) __chk_fail();
  return recv(fd, buf, n, flags);
}
ssize_t __recvfrom_chk(int fd, void* buf, size_t n, size_t buflen, int flags, struct sockaddr* from,
                       socklen_t* fromlen) {
  if (n > buflen) __chk_fail();
  return recvfrom(fd, buf, n, flags, from, fromlen);
}
int __poll_chk(struct pollfd* fds, nfds_t n, int timeout, size_t fdslen) {
  if (fdslen / sizeof(*fds) < n) __chk_fail();
  return poll(fds, n, timeout);
}

}  // extern "C"
