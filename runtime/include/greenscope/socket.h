// socket.h: cooperative sockets (gevent.socket) and their addresses.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "greenscope/types.h"

namespace gs {

namespace detail {
class ParkedWatcher;
}

// Address is a socket address: IPv4, IPv6 or a Unix socket path.
class Address {
 public:
  Address() = default;
  // ip() parses a numeric IPv4 or IPv6 address ("127.0.0.1", "::1"); throws
  // std::invalid_argument for anything else, a NUL byte included (resolve
  // names with gs::getaddrinfo()).
  static Address ip(std::string_view host, unsigned short port);
  // unix_path() is a Unix socket address; a leading '@' names an abstract one.
  // std::invalid_argument for an empty or too long path (107 bytes), and for
  // a NUL byte in a file path (the kernel would cut the path there).
  static Address unix_path(std::string_view path);
  // parse() reads "127.0.0.1:80", "[::1]:80" or "unix:/path/to.sock".
  static Address parse(std::string_view text);
  static Address from_sockaddr(const sockaddr* sa, socklen_t len);

  int family() const { return storage_.ss_family; }
  unsigned short port() const;  // 0 for Unix sockets
  // to_string() is the form parse() reads back.
  std::string to_string() const;
  const sockaddr* data() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  sockaddr* data() { return reinterpret_cast<sockaddr*>(&storage_); }
  socklen_t size() const { return size_; }
  void set_size(socklen_t size) { size_ = size; }

 private:
  sockaddr_storage storage_{};
  socklen_t size_ = 0;
};

// Socket is a cooperative socket: every call that would block suspends only
// the calling greenlet. The fd is non-blocking underneath; errors are IoError
// exceptions carrying errno and naming the call and address. Move-only; the
// destructor closes it. Like a gevent socket, one Socket belongs to one hub:
// use it only from greenlets of the thread that made it. And one greenlet at
// a time may wait in each direction: a call that would wait to read while
// another greenlet waits to read (or write, while one waits to write) throws
// UsageError naming that greenlet, as gevent raises ConcurrentObjectUseError.
class Socket {
 public:
  Socket();
  // Socket(family, type) creates one: Socket(AF_INET6, SOCK_DGRAM).
  Socket(int family, int type, int protocol = 0);
  // adopt() takes ownership of an existing fd and makes it non-blocking.
  static Socket adopt(int fd);
  ~Socket();
  Socket(Socket&& other) noexcept;
  Socket& operator=(Socket&& other) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  // create_connection() opens a stream socket of the address's family and
  // connects it (gevent.socket.create_connection).
  static Socket create_connection(const Address& address, Duration timeout = kForever);
  // listen_on() binds a stream socket with SO_REUSEADDR and listens. A
  // negative backlog is 0, as in Python (here and in listen()).
  static Socket listen_on(const Address& address, int backlog = 128);

  // set_timeout() bounds every later blocking call (TimeoutError);
  // kForever (the default) waits as long as it takes, and so does any
  // timeout from 1e9 s up; 0 never waits. A negative or NaN timeout is a
  // UsageError, as in Python's socket.settimeout() (and so for connect()
  // and create_connection()).
  void set_timeout(Duration timeout);
  Duration timeout() const { return timeout_; }

  // connect() waits for the connection; `timeout` overrides set_timeout().
  void connect(const Address& address);
  void connect(const Address& address, Duration timeout);
  void bind(const Address& address);
  void listen(int backlog = 128);
  std::pair<Socket, Address> accept();

  // recv() returns up to `max` bytes; an empty string at end of stream.
  // With MSG_DONTWAIT in `flags` it never waits: no data is IoError(EAGAIN).
  // max 0 is a UsageError (its "" would read as the end of the stream), and
  // so is a max past PTRDIFF_MAX (a negative number); recv_into() likewise.
  std::string recv(std::size_t max, int flags = 0);
  // recv_into() reads into buf and returns the count, 0 at end of stream.
  std::size_t recv_into(void* buf, std::size_t len, int flags = 0);
  // send() sends some of the bytes (at least one) and returns how many.
  std::size_t send(const void* buf, std::size_t len, int flags = 0);
  std::size_t send(std::string_view data, int flags = 0) { return send(data.data(), data.size(), flags); }
  // sendall() sends every byte or throws.
  void sendall(const void* buf, std::size_t len, int flags = 0);
  void sendall(std::string_view data, int flags = 0) { sendall(data.data(), data.size(), flags); }
  std::pair<std::size_t, Address> recvfrom(void* buf, std::size_t len, int flags = 0);
  std::size_t sendto(const void* buf, std::size_t len, const Address& to, int flags = 0);

  void shutdown(int how);  // SHUT_RD, SHUT_WR, SHUT_RDWR
  // close() wakes greenlets waiting on this socket (IoError EBADF) and
  // closes the fd. Idempotent.
  void close();
  void set_option(int level, int name, int value);
  int option(int level, int name) const;
  Address local_address() const;
  Address peer_address() const;

  int fd() const { return fd_; }
  bool is_open() const { return fd_ >= 0; }
  // release() gives up ownership of the fd and returns it.
  int release() { return std::exchange(fd_, -1); }

 private:
  explicit Socket(int fd);
  int open_fd(const char* what) const;  // fd_, or IoError(EBADF) if closed
  // wait_ready() waits for `events` (kIoRead or kIoWrite) within `timeout`;
  // TimeoutError, or IoError(EBADF) if the socket is closed meanwhile.
  void wait_ready(int events, Duration timeout, const char* what);
  // retry() repeats call(fd), a non-blocking syscall, until it returns >= 0:
  // it waits for `events` (within the socket's timeout) while the call
  // would block, and throws IoError naming `call_name` and `target` (or the
  // fd) on any other error, or on would-block when !may_wait. With
  // wait_first it waits before the first call (see drained_). socket.cpp.
  template <class Call>
  ssize_t retry(int events, const char* call_name, const char* wait_what, const Address* target, bool may_wait,
                bool wait_first, Call call);
  int fd_ = -1;
  Duration timeout_ = kForever;
  // One io watcher per direction, left started between waits. Shared: one
  // released while greenlets wait on it keeps itself alive until they return
  // (ParkedWatcher::release() in runtime/src/io/io_wait.h).
  std::shared_ptr<detail::ParkedWatcher> readable_;
  std::shared_ptr<detail::ParkedWatcher> writable_;
  // drained_: the last recv returned less than asked, so the next one waits
  // for data first instead of paying for a recv that returns EAGAIN.
  bool drained_ = false;
};

}  // namespace gs
