// socket.cpp: gs::Address and gs::Socket. Sockets are non-blocking
// underneath; a call that gets EAGAIN waits on the fd through wait_fd().
#include "greenscope/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "greenscope/detail/deadline.h"
#include "greenscope/errors.h"
#include "greenscope/io.h"
#include "io_wait.h"
#include "nocancel.h"
#include "sys.h"

namespace gs {

// --- Address ---------------------------------------------------------------------
Address Address::ip(std::string_view host, unsigned short port) {
  Address a;
  const std::string h(host);
  if (h.find('\0') != std::string::npos) {
    throw std::invalid_argument("gs::Address::ip(): the host holds a NUL byte; pass a numeric IPv4 or IPv6 address");
  }
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
  if (::inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    a.size_ = sizeof(sockaddr_in);
    return a;
  }
  a.storage_ = {};
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
  if (::inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    a.size_ = sizeof(sockaddr_in6);
    return a;
  }
  throw std::invalid_argument("gs::Address::ip(\"" + h +
                              "\"): not a numeric IPv4 or IPv6 address; resolve host names with "
                              "gs::getaddrinfo()");
}

Address Address::unix_path(std::string_view path) {
  Address a;
  auto* un = reinterpret_cast<sockaddr_un*>(&a.storage_);
  if (path.empty() || path.size() >= sizeof un->sun_path) {
    throw std::invalid_argument("gs::Address::unix_path(): the path must have 1 to " +
                                std::to_string(sizeof un->sun_path - 1) + " characters");
  }
  if (path[0] != '@' && path.find('\0') != std::string_view::npos) {
    // The kernel would cut a file path at the NUL and bind another file.
    throw std::invalid_argument("gs::Address::unix_path(): the path holds a NUL byte; only an abstract "
                                "address ('@name') may");
  }
  un->sun_family = AF_UNIX;
  std::memcpy(un->sun_path, path.data(), path.size());
  if (path[0] == '@') un->sun_path[0] = '\0';  // abstract namespace
  a.size_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (path[0] == '@' ? 0 : 1));
  return a;
}

Address Address::parse(std::string_view text) {
  if (text.starts_with("unix:")) return unix_path(text.substr(5));
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == text.size()) {
    throw std::invalid_argument("gs::Address::parse(\"" + std::string(text) +
                                "\"): expected HOST:PORT, [IPV6]:PORT or unix:/path");
  }
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port_text(text.substr(colon + 1));
  char* end = nullptr;
  const unsigned long port = std::strtoul(port_text.c_str(), &end, 10);
  if (*end != '\0' || port > 65535) {
    throw std::invalid_argument("gs::Address::parse(\"" + std::string(text) + "\"): the port must be 0-65535");
  }
  return ip(host, static_cast<unsigned short>(port));
}

Address Address::from_sockaddr(const sockaddr* sa, socklen_t len) {
  Address a;
  if (len > sizeof a.storage_) len = sizeof a.storage_;
  std::memcpy(&a.storage_, sa, len);
  a.size_ = len;
  return a;
}

unsigned short Address::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  return 0;
}

std::string Address::to_string() const {
  // Built with append(): g++ 12 at -O3 misreports -Wrestrict on operator+.
  char buf[INET6_ADDRSTRLEN] = {};
  std::string out;
  if (family() == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf, sizeof buf);
    out.append(buf).append(":").append(std::to_string(port()));
  } else if (family() == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf, sizeof buf);
    out.append("[").append(buf).append("]:").append(std::to_string(port()));
  } else if (family() == AF_UNIX) {
    const auto* un = reinterpret_cast<const sockaddr_un*>(&storage_);
    const std::size_t n = size_ > offsetof(sockaddr_un, sun_path) ? size_ - offsetof(sockaddr_un, sun_path) : 0;
    out.append("unix:");
    if (n == 0) {
      out.append("(unnamed)");
    } else if (un->sun_path[0] == '\0') {
      out.append("@").append(un->sun_path + 1, n - 1);
    } else {
      out.append(un->sun_path, strnlen(un->sun_path, n));
    }
  } else {
    out.append("(no address)");
  }
  return out;
}

// --- Socket ----------------------------------------------------------------------
namespace {
using detail::sys::libc;

[[noreturn]] void fail(const char* what, const std::string& object, int error = errno) {
  throw IoError(error, std::string("gs::Socket::") + what + "(" + object + ")");
}

bool would_block() { return errno == EAGAIN || errno == EWOULDBLOCK; }

// check_socket_timeout() refuses what Python's socket.settimeout() refuses:
// a negative or NaN timeout.
void check_socket_timeout(Duration timeout, const char* call) {
  if (timeout.count() >= 0) return;
  throw UsageError(std::string("greenscope: gs::Socket::") + call + "(): timeout " + detail::number_text(timeout.count()) +
                   " s; a socket timeout is >= 0 s (0: never wait, TimeoutError at once) or "
                   "gs::kForever (no limit)");
}
}  // namespace

void Socket::set_timeout(Duration timeout) {
  check_socket_timeout(timeout, "set_timeout");
  timeout_ = timeout;
}

Socket::Socket(int family, int type, int protocol) {
  fd_ = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd_ < 0) fail("socket", "family " + std::to_string(family) + ", type " + std::to_string(type));
}

Socket Socket::adopt(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags == -1 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1) fail("adopt", "fd " + std::to_string(fd));
  return Socket(fd);
}

Socket::Socket() = default;
Socket::Socket(int fd) : fd_(fd) {}

Socket::~Socket() { close(); }

Socket::Socket(Socket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      timeout_(other.timeout_),
      readable_(std::move(other.readable_)),
      writable_(std::move(other.writable_)),
      drained_(other.drained_) {}

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    timeout_ = other.timeout_;
    readable_ = std::move(other.readable_);
    writable_ = std::move(other.writable_);
    drained_ = other.drained_;
  }
  return *this;
}

Socket Socket::create_connection(const Address& address, Duration timeout) {
  check_socket_timeout(timeout, "create_connection");
  Socket s(address.family(), SOCK_STREAM);
  if (address.family() != AF_UNIX) s.set_option(IPPROTO_TCP, TCP_NODELAY, 1);
  s.connect(address, timeout);
  return s;
}

Socket Socket::listen_on(const Address& address, int backlog) {
  Socket s(address.family(), SOCK_STREAM);
  if (address.family() != AF_UNIX) s.set_option(SOL_SOCKET, SO_REUSEADDR, 1);
  s.bind(address);
  s.listen(backlog);
  return s;
}

int Socket::open_fd(const char* what) const {
  if (fd_ < 0) throw IoError(EBADF, std::string("gs::Socket::") + what + "(): the socket is closed");
  return fd_;
}

void Socket::wait_ready(int events, Duration timeout, const char* what) {
  const Duration socket_timeout = timeout_;
  if (timeout.count() == 0) throw TimeoutError(socket_timeout);
  auto& slot = events == kIoRead ? readable_ : writable_;
  if (!slot) slot = std::make_shared<detail::ParkedWatcher>(fd_, events);
  // From here on only locals: the Socket may be closed or destroyed by
  // another greenlet while this one waits (the watcher outlives the wait:
  // ParkedWatcher::release()).
  detail::ParkedWatcher& watcher = *slot;
  detail::throw_unless_ready(watcher.wait(timeout, what), socket_timeout, what);
}

template <class Call>
ssize_t Socket::retry(int events, const char* call_name, const char* wait_what, const Address* target,
                      bool may_wait, bool wait_first, Call call) {
  const int fd = open_fd(call_name);
  detail::Deadline deadline(timeout_, wait_what);
  if (wait_first) wait_ready(events, deadline.remaining(), wait_what);
  for (;;) {
    const ssize_t r = call(fd);
    if (r >= 0) return r;
    if (errno == EINTR) continue;
    if (!would_block() || !may_wait) fail(call_name, target ? target->to_string() : "fd " + std::to_string(fd));
    wait_ready(events, deadline.remaining(), wait_what);
  }
}

void Socket::connect(const Address& address) { connect(address, timeout_); }

void Socket::connect(const Address& address, Duration timeout) {
  check_socket_timeout(timeout, "connect");
  const int fd = open_fd("connect");
  detail::Deadline deadline(timeout, "gs::Socket::connect()");
  for (;;) {
    if (libc().connect(fd, address.data(), address.size()) == 0) return;
    if (errno == EINTR) continue;
    if (errno == EISCONN) return;
    if (errno != EINPROGRESS && errno != EAGAIN) fail("connect", address.to_string());
    const bool retry = errno == EAGAIN;  // a Unix socket's backlog is full
    if (deadline.expired()) throw TimeoutError(timeout);
    const auto waited = detail::wait_fd(fd, kIoWrite, deadline.remaining(), "gs::Socket::connect()");
    if (waited == detail::IoWaitResult::Closed) fail("connect", address.to_string(), EBADF);
    detail::throw_unless_ready(waited, timeout, "gs::Socket::connect()");
    if (retry) continue;
    const int error = option(SOL_SOCKET, SO_ERROR);
    if (error != 0) fail("connect", address.to_string(), error);
    return;
  }
}

void Socket::bind(const Address& address) {
  if (::bind(open_fd("bind"), address.data(), address.size()) != 0) fail("bind", address.to_string());
}

void Socket::listen(int backlog) {
  // Python's rule: a negative backlog is 0 (the kernel would take it as its
  // maximum).
  if (::listen(open_fd("listen"), backlog < 0 ? 0 : backlog) != 0) fail("listen", "fd " + std::to_string(fd_));
}

std::pair<Socket, Address> Socket::accept() {
  const int fd = open_fd("accept");
  detail::Deadline deadline(timeout_, "gs::Socket::accept()");
  for (;;) {
    Address peer;
    socklen_t len = sizeof(sockaddr_storage);
    const int c = detail::sys::nocancel::accept4(fd, peer.data(), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c >= 0) {
      peer.set_size(len);
      return {Socket(c), peer};
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (!would_block()) fail("accept", local_address().to_string());
    wait_ready(kIoRead, deadline.remaining(), "gs::Socket::accept()");
  }
}

namespace {
// check_read_size() refuses a read of 0 bytes, whose empty result reads as
// the end of the stream (and which waits for data it does not take), and a
// size that was a negative number.
void check_read_size(std::size_t len, const char* call) {
  if (len != 0 && len <= static_cast<std::size_t>(PTRDIFF_MAX)) [[likely]] return;
  throw UsageError(std::string("greenscope: ") + call + "(" + std::to_string(len) + "): " +
                   (len == 0 ? "0 bytes cannot tell data from the end of the stream"
                             : "a negative number passed as std::size_t") +
                   "; ask for at least 1 byte (e.g. 65536)");
}
}  // namespace

std::size_t Socket::recv_into(void* buf, std::size_t len, int flags) {
  check_read_size(len, "gs::Socket::recv_into");
  const bool may_wait = !(flags & MSG_DONTWAIT);
  const bool wait_first = drained_ && timeout_.count() != 0 && may_wait;
  const ssize_t r = retry(kIoRead, "recv", "gs::Socket::recv()", nullptr, may_wait, wait_first,
                          [&](int fd) { return detail::sys::nocancel::recv(fd, buf, len, flags | MSG_DONTWAIT); });
  drained_ = r > 0 && static_cast<std::size_t>(r) < len;
  return static_cast<std::size_t>(r);
}

// recv() reads into memory it does not clear and returns a string of what
// came. A std::string(max, '\0') was allocated and zeroed first: 64 KiB
// per call for the usual recv(65536), 15 % of an echo server's round trip,
// and each string it returned kept the 64 KiB.
std::string Socket::recv(std::size_t max, int flags) {
  check_read_size(max, "gs::Socket::recv");
  const std::unique_ptr<char[]> buf = std::make_unique_for_overwrite<char[]>(max);
  return std::string(buf.get(), recv_into(buf.get(), max, flags));
}

std::size_t Socket::send(const void* buf, std::size_t len, int flags) {
  return static_cast<std::size_t>(retry(kIoWrite, "send", "gs::Socket::send()", nullptr, true, false, [&](int fd) {
    return detail::sys::nocancel::send(fd, buf, len, flags | MSG_DONTWAIT | MSG_NOSIGNAL);
  }));
}

void Socket::sendall(const void* buf, std::size_t len, int flags) {
  const char* p = static_cast<const char*>(buf);
  while (len > 0) {
    const std::size_t n = send(p, len, flags);
    p += n;
    len -= n;
  }
}

std::pair<std::size_t, Address> Socket::recvfrom(void* buf, std::size_t len, int flags) {
  Address from;
  const ssize_t r = retry(kIoRead, "recvfrom", "gs::Socket::recvfrom()", nullptr, true, false, [&](int fd) {
    socklen_t alen = sizeof(sockaddr_storage);
    const ssize_t n = detail::sys::nocancel::recvfrom(fd, buf, len, flags | MSG_DONTWAIT, from.data(), &alen);
    from.set_size(alen);
    return n;
  });
  return {static_cast<std::size_t>(r), from};
}

std::size_t Socket::sendto(const void* buf, std::size_t len, const Address& to, int flags) {
  return static_cast<std::size_t>(retry(kIoWrite, "sendto", "gs::Socket::sendto()", &to, true, false, [&](int fd) {
    return detail::sys::nocancel::sendto(fd, buf, len, flags | MSG_DONTWAIT | MSG_NOSIGNAL, to.data(), to.size());
  }));
}

void Socket::shutdown(int how) {
  if (::shutdown(open_fd("shutdown"), how) != 0) fail("shutdown", "fd " + std::to_string(fd_));
}

void Socket::close() {
  if (fd_ < 0) return;
  const int fd = std::exchange(fd_, -1);
  // Stop the watchers before the fd goes; the runtime's close() then wakes
  // greenlets waiting on them (IoError EBADF).
  for (auto* watcher : {&readable_, &writable_}) {
    if (*watcher) (*watcher)->stop();
  }
  drained_ = false;
  ::close(fd);  // the runtime's close(): wakes waiters (notify_closed), then libc's
  detail::ParkedWatcher::release(readable_);
  detail::ParkedWatcher::release(writable_);
}

void Socket::set_option(int level, int name, int value) {
  if (::setsockopt(open_fd("set_option"), level, name, &value, sizeof value) != 0) {
    fail("set_option", "level " + std::to_string(level) + ", option " + std::to_string(name));
  }
}

int Socket::option(int level, int name) const {
  int value = 0;
  socklen_t len = sizeof value;
  if (::getsockopt(open_fd("option"), level, name, &value, &len) != 0) {
    fail("option", "level " + std::to_string(level) + ", option " + std::to_string(name));
  }
  return value;
}

namespace {
// name_of() is getsockname()/getpeername() as an Address.
Address name_of(int fd, int (*get)(int, sockaddr*, socklen_t*), const char* what) {
  Address a;
  socklen_t len = sizeof(sockaddr_storage);
  if (get(fd, a.data(), &len) != 0) fail(what, "fd " + std::to_string(fd));
  a.set_size(len);
  return a;
}
}  // namespace

Address Socket::local_address() const {
  return name_of(open_fd("local_address"), &::getsockname, "local_address");
}

Address Socket::peer_address() const {
  return name_of(open_fd("peer_address"), &::getpeername, "peer_address");
}

}  // namespace gs
