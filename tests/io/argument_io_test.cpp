// argument_io_test.cpp: what cooperative I/O does with values a user should
// not pass: fds that are not open, reads of 0 bytes, socket timeouts below
// zero, strings that a NUL byte would cut short, counts that were negative
// numbers, signal numbers that are none. A documented meaning, or an error
// that names the call and says how to call it; never a crash or a hang.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <climits>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "greenscope/server.h"
#include "greenscope/signal.h"
#include "greenscope/socket.h"
#include "greenscope/subprocess.h"
#include "greenscope/threadpool.h"
#include "test_support.h"

namespace gs::test {
namespace {

class ArgumentIoTest : public RuntimeTest {};

// closed_fd() is an fd number that is not open (it was a moment ago).
int closed_fd() {
  const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ::close(fd);
  return fd;
}

std::pair<gs::Socket, gs::Socket> socket_pair() {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  return {gs::Socket::adopt(fds[0]), gs::Socket::adopt(fds[1])};
}

// libev aborts the process on an io watcher whose fd is not open, and a
// huge fd number made it index far past its table.
TEST_F(ArgumentIoTest, WaitingOnAnFdThatIsNotOpenIsEbadf) {
  for (const int fd : {closed_fd(), INT_MAX}) {
    try {
      gs::wait_read(fd, 1s);
      ADD_FAILURE() << "no IoError for fd " << fd;
    } catch (const gs::IoError& e) {
      EXPECT_EQ(e.error(), EBADF);
      EXPECT_NE(std::string(e.what()).find("not an open file descriptor"), std::string::npos) << e.what();
    }
    EXPECT_THROW(gs::Waitable::readable(fd), gs::IoError);
  }
}

// recv(0) returned "" (the end of the stream) once data was there, and
// waited for data it would not take when there was none.
TEST_F(ArgumentIoTest, ReadsOfZeroBytesAreRejected) {
  auto sockets = socket_pair();  // not a structured binding: clang 14 cannot capture one
  gs::Socket& a = sockets.first;
  gs::Socket& b = sockets.second;
  b.sendall("x");
  expect_usage_error([&] { a.recv(0); }, {"gs::Socket::recv(0)", "at least 1 byte"});
  char buf[4];
  expect_usage_error([&] { a.recv_into(buf, 0); }, {"gs::Socket::recv_into(0)"});
  expect_usage_error([&] { a.recv(static_cast<std::size_t>(-1)); }, {"negative"});
  EXPECT_EQ(a.recv(4), "x");  // the byte is still there
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
  gs::PipeEnd read_end(fds[0]);
  ASSERT_EQ(::write(fds[1], "y", 1), 1);
  expect_usage_error([&] { read_end.read(0); }, {"gs::PipeEnd::read(0)"});
  EXPECT_EQ(read_end.read(), "y");
  ::close(fds[1]);
}

// As Python's socket.settimeout(): a socket timeout is >= 0 or no limit.
TEST_F(ArgumentIoTest, SocketTimeoutsBelowZeroAreRejected) {
  auto sockets = socket_pair();  // not a structured binding: clang 14 cannot capture one
  gs::Socket& a = sockets.first;
  gs::Socket& b = sockets.second;
  expect_usage_error([&] { a.set_timeout(-1s); }, {"gs::Socket::set_timeout()", "-1 s", "kForever"});
  expect_usage_error([&] { a.set_timeout(kNan); }, {"gs::Socket::set_timeout()"});
  EXPECT_EQ(a.timeout(), gs::kForever);  // unchanged
  gs::Socket listener = gs::Socket::listen_on(gs::Address::ip("127.0.0.1", 0));
  expect_usage_error([&] { gs::Socket::create_connection(listener.local_address(), -2s); },
                     {"gs::Socket::create_connection()"});
  a.set_timeout(gs::Duration(1e300));  // no limit, like kForever
  b.sendall("z");
  EXPECT_EQ(a.recv(1), "z");
  a.set_timeout(0s);  // never waits
  EXPECT_THROW(a.recv(1), gs::TimeoutError);
}

TEST_F(ArgumentIoTest, ServerStopRejectsANanGraceAndStopsAtOnceForANegativeOne) {
  gs::StreamServer server(gs::Address::ip("127.0.0.1", 0), [](gs::Socket& conn, const gs::Address&) {
    char c;
    conn.recv_into(&c, 1);
  });
  server.start();
  expect_usage_error([&] { server.stop(kNan); }, {"gs::StreamServer::stop()", "NaN"});
  EXPECT_TRUE(server.started());
  gs::Socket client = gs::Socket::create_connection(server.address());
  while (server.connections() == 0) gs::sleep(1ms);
  server.stop(-1s);  // no grace: the handler is killed at once
  EXPECT_EQ(server.connections(), 0u);
}

// A NUL byte would make libc or the kernel read another string than the one
// passed: another host, another socket file, a shorter argument.
TEST_F(ArgumentIoTest, StringsANulWouldCutShortAreRejected) {
  EXPECT_THROW(gs::Address::ip(std::string("127.0.0.1\0.evil", 15), 80), std::invalid_argument);
  EXPECT_THROW(gs::Address::unix_path(std::string("/tmp/a\0b", 8)), std::invalid_argument);
  EXPECT_EQ(gs::Address::unix_path(std::string("@a\0b", 4)).family(), AF_UNIX);  // abstract: any bytes
  auto g = gs::spawn([] {
    try {
      gs::getaddrinfo(std::string("localhost\0.evil.example", 23), "80");
      return 0;
    } catch (const gs::GaiError& e) {
      return e.code();
    }
  });
  EXPECT_EQ(g.get(), EAI_NONAME);
  expect_usage_error([] { gs::Subprocess({"true", std::string("a\0b", 3)}); }, {"argv[1]", "NUL"});
  gs::Subprocess::Options env;
  env.env = {"PATH=/usr/bin:/bin", "NOEQUALS"};
  expect_usage_error([&] { gs::Subprocess({"true"}, env); }, {"env[1]", "NAME=value"});
  gs::Subprocess::Options cwd;
  cwd.cwd = std::string("/\0tmp", 5);
  expect_usage_error([&] { gs::Subprocess({"true"}, cwd); }, {"cwd", "NUL"});
}

TEST_F(ArgumentIoTest, ThreadPoolSizesMustBeFromOneUp) {
  expect_usage_error([] { gs::ThreadPool pool(0); }, {"max_threads"});
  expect_usage_error([] { gs::ThreadPool pool(static_cast<std::size_t>(-4)); }, {"gs::ThreadPool", "negative"});
}

TEST_F(ArgumentIoTest, SignalNumbersMustNameACatchableSignal) {
  for (const int signo : {0, -1, NSIG, 1000}) {
    expect_usage_error([&] { (void)gs::signal_handler(signo, [] {}); },
                       {"gs::signal_handler(" + std::to_string(signo) + ")", "not a signal"});
  }
  expect_usage_error([] { (void)gs::signal_handler(SIGKILL, [] {}); }, {"cannot be caught"});
  expect_usage_error([] { (void)gs::signal_handler(SIGUSR1, std::function<void()>()); }, {"function"});
}

}  // namespace
}  // namespace gs::test
