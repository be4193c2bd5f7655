// socket_test.cpp: gs::Socket over TCP (IPv4, IPv6), Unix and UDP sockets,
// errors and timeouts, and gs::StreamServer.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "greenscope/server.h"
#include "greenscope/socket.h"
#include "test_support.h"

namespace gs::test {
namespace {

class SocketTest : public RuntimeTest {};

void echo_handler(gs::Socket& conn, const gs::Address&) {
  char buf[4096];
  while (std::size_t n = conn.recv_into(buf, sizeof buf)) conn.sendall(buf, n);
}

// socket_pair() is a connected AF_UNIX stream pair as gs::Sockets.
std::pair<gs::Socket, gs::Socket> socket_pair() {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  return {gs::Socket::adopt(fds[0]), gs::Socket::adopt(fds[1])};
}

// round_trip() connects to `server`, sends `message` and reads the echo.
std::string round_trip(const gs::Address& server, const std::string& message) {
  gs::Socket c = gs::Socket::create_connection(server);
  c.sendall(message);
  c.shutdown(SHUT_WR);
  std::string got;
  for (std::string part; !(part = c.recv(4096)).empty();) got += part;
  return got;
}

TEST_F(SocketTest, AddressParsesAndPrintsEveryFamily) {
  EXPECT_EQ(gs::Address::parse("127.0.0.1:80").to_string(), "127.0.0.1:80");
  EXPECT_EQ(gs::Address::parse("[::1]:8080").to_string(), "[::1]:8080");
  EXPECT_EQ(gs::Address::parse("[::1]:8080").family(), AF_INET6);
  EXPECT_EQ(gs::Address::parse("unix:/tmp/x.sock").to_string(), "unix:/tmp/x.sock");
  EXPECT_EQ(gs::Address::unix_path("@abstract").to_string(), "unix:@abstract");
  EXPECT_THROW(gs::Address::parse("localhost"), std::invalid_argument);
  EXPECT_THROW(gs::Address::ip("example.com", 80), std::invalid_argument);
}

TEST_F(SocketTest, StreamServerEchoesOverIpv4ManyClientsAtOnce) {
  gs::StreamServer server(gs::Address::ip("127.0.0.1", 0), echo_handler);
  server.start();
  std::vector<gs::Greenlet<std::string>> clients;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(gs::spawn([&, i] { return round_trip(server.address(), "hello " + std::to_string(i)); }));
  }
  for (int i = 0; i < 20; ++i) EXPECT_EQ(clients[i].get(), "hello " + std::to_string(i));
  EXPECT_EQ(server.accepted(), 20u);
  server.stop();
}

TEST_F(SocketTest, StreamServerEchoesOverIpv6) {
  gs::StreamServer server(gs::Address::ip("::1", 0), echo_handler);
  try {
    server.start();
  } catch (const gs::IoError& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  EXPECT_EQ(gs::spawn([&] { return round_trip(server.address(), "six"); }).get(), "six");
  server.stop();
}

TEST_F(SocketTest, StreamServerEchoesOverAUnixSocket) {
  const auto path = std::filesystem::temp_directory_path() / ("gs-test-" + std::to_string(::getpid()) + ".sock");
  std::filesystem::remove(path);
  gs::StreamServer server(gs::Address::unix_path(path.string()), echo_handler);
  server.start();
  EXPECT_EQ(gs::spawn([&] { return round_trip(server.address(), "unix"); }).get(), "unix");
  server.stop();
  std::filesystem::remove(path);
}

TEST_F(SocketTest, LargeTransfersArriveWhole) {
  gs::StreamServer server(gs::Address::ip("127.0.0.1", 0), echo_handler);
  server.start();
  std::string big(4 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 31 + 7);
  EXPECT_TRUE(gs::spawn([&] { return round_trip(server.address(), big); }).get() == big);
  server.stop();
}

TEST_F(SocketTest, UdpSendtoAndRecvfrom) {
  auto g = gs::spawn([] {
    gs::Socket a(AF_INET, SOCK_DGRAM), b(AF_INET, SOCK_DGRAM);
    a.bind(gs::Address::ip("127.0.0.1", 0));
    b.bind(gs::Address::ip("127.0.0.1", 0));
    auto reply = gs::spawn([&] {
      char buf[64];
      auto [n, from] = b.recvfrom(buf, sizeof buf);
      b.sendto(buf, n, from);
    });
    a.sendto("ping", 4, b.local_address());
    char buf[64];
    auto [n, from] = a.recvfrom(buf, sizeof buf);
    reply.join();
    EXPECT_EQ(from.to_string(), b.local_address().to_string());
    return std::string(buf, n);
  });
  EXPECT_EQ(g.get(), "ping");
}

TEST_F(SocketTest, ConnectionRefusedCarriesErrnoAndAddress) {
  // A port that was free a moment ago refuses connections.
  gs::Address free_port = [] {
    gs::Socket s = gs::Socket::listen_on(gs::Address::ip("127.0.0.1", 0));
    return s.local_address();
  }();
  auto g = gs::spawn([&] { gs::Socket::create_connection(free_port); });
  g.join();
  ASSERT_TRUE(g.exception());
  try {
    std::rethrow_exception(g.exception());
  } catch (const gs::IoError& e) {
    EXPECT_EQ(e.error(), ECONNREFUSED);
    EXPECT_NE(std::string(e.what()).find(free_port.to_string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("refused"), std::string::npos) << e.what();
  }
  reports.clear();
}

TEST_F(SocketTest, RecvTimeoutRaisesTimeoutErrorWhileOthersRun) {
  gs::StreamServer server(gs::Address::ip("127.0.0.1", 0), [](gs::Socket& c, const gs::Address&) {
    c.recv(1);  // never answers
  });
  server.start();
  Ticker ticker;
  auto g = gs::spawn([&] {
    gs::Socket c = gs::Socket::create_connection(server.address());
    c.set_timeout(50ms);
    c.recv(10);
  });
  g.join();
  ASSERT_TRUE(g.exception());
  EXPECT_THROW(std::rethrow_exception(g.exception()), gs::TimeoutError);
  EXPECT_GT(ticker.ticks(), 1);
  reports.clear();
  server.stop();
}

TEST_F(SocketTest, ClosingASocketWakesItsReaderWithEbadf) {
  gs::StreamServer server(gs::Address::ip("127.0.0.1", 0), [](gs::Socket& c, const gs::Address&) { c.recv(1); });
  server.start();
  auto g = gs::spawn([&] {
    gs::Socket c = gs::Socket::create_connection(server.address());
    auto reader = gs::spawn([&] {
      try {
        c.recv(10);
      } catch (const gs::IoError& e) {
        return e.error();
      }
      return 0;
    });
    gs::yield();  // let the reader wait
    c.close();
    return reader.get();
  });
  EXPECT_EQ(g.get(), EBADF);
  server.stop();
}

// recv(65536) of a short message returns a string of that message that does
// not keep the 64 KiB it was asked for: a server that queues what it reads
// (one string per message) would otherwise hold 64 KiB per message. The old
// recv() returned its zero-filled 64 KiB string, shrunk in size only.
TEST_F(SocketTest, RecvReturnsWhatCameWithoutKeepingWhatWasAskedFor) {
  auto g = gs::spawn([] {
    auto [a, b] = socket_pair();
    b.sendall("hello, a short message");
    return a.recv(65536);
  });
  const std::string got = g.get();
  EXPECT_EQ(got, "hello, a short message");
  EXPECT_LT(got.capacity(), 1024u);
}

TEST_F(SocketTest, PipelinedMessagesAfterAShortReadAllArrive) {
  // After a short recv the next one waits for readability first; data that
  // is already queued must still be read at once, in order.
  auto g = gs::spawn([] {
    auto [a, b] = socket_pair();
    std::string got;
    b.sendall("one");
    got += a.recv(100);  // short read
    b.sendall("two");
    b.sendall("three");
    while (got.size() < 11) got += a.recv(100);
    return got;
  });
  EXPECT_EQ(g.get(), "onetwothree");
}

TEST_F(SocketTest, AWatcherThatFiresWithNobodyWaitingStaysUsable) {
  auto g = gs::spawn([] {
    auto sockets = socket_pair();  // not a structured binding: clang 14 cannot capture one
    gs::Socket& a = sockets.first;
    gs::Socket& b = sockets.second;
    std::string got;
    gs::Event got_x, sent_y;
    auto writer = gs::spawn([&] {
      b.sendall("x");
      got_x.wait();  // a's owner no longer waits on a
      b.sendall("y");
      sent_y.set();
    });
    got += a.recv(1);
    got_x.set();
    sent_y.wait();
    // A timer wakes this greenlet only from a poll, and the first poll after
    // "y" finds a readable with its watcher still parked: the watcher fires
    // then, with nobody waiting, whenever the timer comes due. (Two sleeps,
    // 5 ms in the writer and 10 ms here, came due in one poll when the hub
    // was late, and "y" was read before the watcher ever fired.)
    gs::sleep(1ms);
    got += a.recv(1);
    try {
      got += a.recv(1, MSG_DONTWAIT);
    } catch (const gs::IoError& e) {
      if (e.error() == EAGAIN) got += ".";  // nothing more, and it did not wait
    }
    writer.join();
    return got;
  });
  EXPECT_EQ(g.get(), "xy.");
}

TEST_F(SocketTest, DestroyingASocketWhileAGreenletWaitsOnItWakesThatGreenlet) {
  auto g = gs::spawn([] {
    auto [first, b] = socket_pair();
    auto a = std::make_unique<gs::Socket>(std::move(first));
    auto reader = gs::spawn([&a] {
      try {
        a->recv(10);
      } catch (const gs::IoError& e) {
        return e.error();
      }
      return 0;
    });
    gs::yield();
    a.reset();  // the reader still waits inside the destroyed socket's recv
    return reader.get();
  });
  EXPECT_EQ(g.get(), EBADF);
}

TEST_F(SocketTest, ASecondGreenletWaitingToReadWhileAnotherWaitsIsToldWhoAndTheFirstStillGetsItsData) {
  // A second waiter would take the wake-up from the first, which would then
  // sleep until a close (gevent raises ConcurrentObjectUseError).
  auto g = gs::spawn([] {
    auto sockets = socket_pair();  // references, not a structured binding: clang 14 lambdas cannot capture one
    gs::Socket& a = sockets.first;
    gs::Socket& b = sockets.second;
    a.set_timeout(std::chrono::seconds(10));  // a first reader left asleep fails, not hangs
    auto first = gs::spawn([&a] { return a.recv(10); });
    first.set_name("first-reader");
    gs::yield();  // first waits in recv()
    std::string error;
    auto second = gs::spawn([&a, &error] {
      try {
        a.recv(10);
      } catch (const gs::UsageError& e) {
        error = e.what();
      }
    });
    second.join();
    b.sendall("data");
    return std::pair{first.get(), error};
  });
  const auto [data, error] = g.get();
  EXPECT_EQ(data, "data");
  EXPECT_NE(error.find("gs::Socket::recv()"), std::string::npos) << error;
  EXPECT_NE(error.find("\"first-reader\") is already waiting to read from this socket"), std::string::npos) << error;
  EXPECT_NE(error.find("gs::Queue"), std::string::npos) << error;
}

// A socket's watcher stays in the fd registry between waits (its waits take
// no lock): a close from another thread must still find the greenlet in its
// second wait, through the post to its hub.
TEST_F(SocketTest, ACloseFromAnotherThreadWakesAGreenletInItsSecondWaitOnASocket) {
  auto sockets = socket_pair();  // references, not a structured binding: clang 14 lambdas cannot capture one
  gs::Socket& a = sockets.first;
  gs::Socket& b = sockets.second;
  a.set_timeout(std::chrono::seconds(10));  // a reader the close missed fails, not hangs
  gs::Event second_wait;
  auto reader = gs::spawn([&a, &second_wait] {
    std::string got = a.recv(10);  // the first wait: b sends below
    second_wait.set();
    try {
      got += a.recv(10);
    } catch (const gs::IoError& e) {
      got += " then errno " + std::to_string(e.error());
    }
    return got;
  });
  gs::yield();
  b.sendall("first");
  second_wait.wait();
  gs::sleep(std::chrono::milliseconds(1));  // a whole loop iteration: the reader waits again (see IoWaitTest)
  const int fd = a.fd();
  std::thread closer([fd] { ::close(fd); });
  const std::string got = reader.get();
  closer.join();
  EXPECT_EQ(got, "first then errno " + std::to_string(EBADF));
}

// A socket that waited on one thread's hub and outlives that thread: its
// watcher was stopped as the hub ended; a wait elsewhere says why, and its
// close touches nothing of the ended hub (ASan sees a use after free).
TEST_F(SocketTest, ASocketThatOutlivesTheThreadItWaitedOnSaysSoAndClosesCleanly) {
  auto sockets = socket_pair();  // references, not a structured binding: clang 14 lambdas cannot capture one
  gs::Socket& a = sockets.first;
  std::thread other([&a] {
    a.set_timeout(std::chrono::milliseconds(1));
    EXPECT_THROW(a.recv(10), gs::TimeoutError);  // its read watcher stays started on this thread's hub
  });
  other.join();
  std::string error;
  auto g = gs::spawn([&a, &error] {
    try {
      a.recv(10);
    } catch (const gs::UsageError& e) {
      error = e.what();
    }
  });
  g.join();
  EXPECT_NE(error.find("the thread it first waited on has ended"), std::string::npos) << error;
  a.close();
  EXPECT_EQ(sockets.second.recv(10), "");  // the peer sees the close
}

TEST_F(SocketTest, AGreenletMayWaitToWriteWhileAnotherWaitsToRead) {
  auto g = gs::spawn([] {
    auto sockets = socket_pair();  // references, not a structured binding: clang 14 lambdas cannot capture one
    gs::Socket& a = sockets.first;
    gs::Socket& b = sockets.second;
    auto reader = gs::spawn([&a] { return a.recv(10); });
    gs::yield();
    // Fill the send buffer, so that the writer waits too; then drain it.
    a.set_option(SOL_SOCKET, SO_SNDBUF, 4096);
    const std::string chunk(1 << 20, 'x');
    auto writer = gs::spawn([&a, &chunk] { a.sendall(chunk); });
    gs::yield();
    std::size_t drained = 0;
    while (drained < chunk.size()) drained += b.recv(1 << 16).size();
    writer.join();
    b.sendall("hi");
    return std::pair{reader.get(), writer.successful()};
  });
  EXPECT_EQ(g.get(), std::pair(std::string("hi"), true));
}

TEST_F(SocketTest, MaxConnectionsBoundsHandlersAtOnce) {
  // Handlers are held until the test lets them go, and it does so only once
  // 3 are in and all 10 clients are connected (queued in the listen
  // backlog): 3 at once is then reached however slowly connections come in
  // (a handler held 10 ms could end before the third started), and the
  // server had the other 7 connections at hand while 3 were held.
  int now = 0, most = 0, connected = 0;
  gs::Event full, all_connected, release;
  gs::StreamServer::Options options;
  options.max_connections = 3;
  gs::StreamServer server(
      gs::Address::ip("127.0.0.1", 0),
      [&](gs::Socket& c, const gs::Address&) {
        most = std::max(most, ++now);
        if (now == 3) full.set();
        release.wait();
        --now;
        c.sendall("done");
      },
      options);
  server.start();
  std::vector<gs::GreenletRef> clients;
  for (int i = 0; i < 10; ++i) {
    clients.push_back(gs::spawn([&] {
      gs::Socket c = gs::Socket::create_connection(server.address());
      if (++connected == 10) all_connected.set();
      EXPECT_EQ(c.recv(16), "done");
    }));
  }
  full.wait();
  all_connected.wait();
  // Loop turns with 7 connections pending and 3 handlers held: a server
  // that broke the bound would start a 4th handler here. (Detection only: a
  // server that keeps the bound does nothing meanwhile, so the outcome does
  // not depend on this sleep.)
  gs::sleep(10ms);
  release.set();
  gs::joinall(clients);
  EXPECT_EQ(most, 3);
  EXPECT_EQ(server.accepted(), 10u);
  server.stop();
}

TEST_F(SocketTest, StopWaitsForHandlersThenKillsTheSlowOnes) {
  std::vector<std::string> done;
  int received = 0;
  gs::Event both_received;
  gs::StreamServer server(gs::Address::ip("127.0.0.1", 0), [&](gs::Socket& c, const gs::Address&) {
    const std::string what = c.recv(16);
    if (++received == 2) both_received.set();
    gs::sleep(what == "quick" ? 5ms : 10s);
    done.push_back(what);
  });
  server.start();
  gs::Socket quick, slow;
  auto connect = gs::spawn([&] {
    quick = gs::Socket::create_connection(server.address());
    slow = gs::Socket::create_connection(server.address());
    quick.sendall("quick");
    slow.sendall("slow");
  });
  connect.join();
  // Both handlers have their message and sleep, so the quick one's 5 ms
  // began before stop()'s 100 ms grace: its timer is due first, and timers
  // that come due in the same poll run in deadline order, so it finishes
  // within the grace however late the hub gets to them. (Waiting for two
  // connections and 1 ms more did not make sure the quick handler had its
  // message yet.)
  both_received.wait();
  server.stop(100ms);
  EXPECT_EQ(done, std::vector<std::string>{"quick"});
  EXPECT_EQ(server.connections(), 0u);
  // The listener is closed: new connections are refused.
  auto late = gs::spawn([&] { gs::Socket::create_connection(server.address()); });
  late.join();
  EXPECT_TRUE(late.exception());
  reports.clear();
}

TEST_F(SocketTest, ServeForeverReturnsAfterStop) {
  gs::StreamServer server(gs::Address::ip("127.0.0.1", 0), echo_handler);
  gs::spawn_later(20ms, [&] { server.stop(); });
  server.serve_forever();
  EXPECT_FALSE(server.address().to_string().empty());
}

}  // namespace
}  // namespace gs::test
