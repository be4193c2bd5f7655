// patch_test.cpp: gs::patch_all(). Plain libc calls made from greenlets wait
// cooperatively and keep the blocking call's contract. Each test runs in its
// own process, so patching never leaks into another test.
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "greenscope/observer.h"
#include "greenscope/patch.h"
#include "greenscope/stall.h"
#include "test_support.h"

namespace gs::test {
namespace {

class PatchTest : public RuntimeTest {
 protected:
  void SetUp() override {
    RuntimeTest::SetUp();
    gs::patch_all();
  }
  void TearDown() override {
    gs::unpatch_all();
    RuntimeTest::TearDown();
  }
};

struct Fds {
  int a = -1, b = -1;
  ~Fds() {
    if (a >= 0) ::close(a);
    if (b >= 0) ::close(b);
  }
};

Fds make_pipe(int flags = 0) {
  int p[2];
  EXPECT_EQ(::pipe2(p, O_CLOEXEC | flags), 0);
  return Fds{p[0], p[1]};
}

Fds make_socketpair() {
  int s[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);
  return Fds{s[0], s[1]};
}

// A blocking read on an empty pipe would hang the thread unpatched; patched,
// it waits while the writer greenlet runs.
TEST_F(PatchTest, BlockingReadOnAPipeWaitsOnlyItsGreenlet) {
  Fds p = make_pipe();
  std::vector<std::string> order;
  auto reader = gs::spawn([&] {
    char buf[16];
    order.push_back("read starts");
    const ssize_t n = ::read(p.a, buf, sizeof buf);
    order.push_back("read got " + std::string(buf, n > 0 ? n : 0));
  });
  auto writer = gs::spawn([&] {
    order.push_back("writer runs");
    ASSERT_EQ(::write(p.b, "hi", 2), 2);
  });
  gs::joinall({reader, writer});
  EXPECT_EQ(order, (std::vector<std::string>{"read starts", "writer runs", "read got hi"}));
}

TEST_F(PatchTest, BlockingRecvOnASocketWaitsOnlyItsGreenlet) {
  Fds s = make_socketpair();
  std::vector<std::string> order;
  auto reader = gs::spawn([&] {
    char buf[16];
    order.push_back("recv starts");
    const ssize_t n = ::recv(s.a, buf, sizeof buf, 0);
    order.push_back("recv got " + std::to_string(n));
  });
  auto writer = gs::spawn([&] {
    order.push_back("writer runs");
    ASSERT_EQ(::send(s.b, "abc", 3, 0), 3);
  });
  gs::joinall({reader, writer});
  EXPECT_EQ(order, (std::vector<std::string>{"recv starts", "writer runs", "recv got 3"}));
}

TEST_F(PatchTest, NonBlockingFdStillReturnsEagain) {
  Fds p = make_pipe(O_NONBLOCK);
  Fds s = make_socketpair();
  ASSERT_EQ(::fcntl(s.a, F_SETFL, ::fcntl(s.a, F_GETFL) | O_NONBLOCK), 0);
  auto g = gs::spawn([&] {
    char buf[4];
    errno = 0;
    EXPECT_EQ(::read(p.a, buf, sizeof buf), -1);
    EXPECT_EQ(errno, EAGAIN);
    errno = 0;
    EXPECT_EQ(::read(s.a, buf, sizeof buf), -1);
    EXPECT_EQ(errno, EAGAIN);
    errno = 0;
    EXPECT_EQ(::recv(s.a, buf, sizeof buf, 0), -1);
    EXPECT_EQ(errno, EAGAIN);
  });
  g.join();
  EXPECT_FALSE(g.exception());
}

TEST_F(PatchTest, SoRcvtimeoEndsTheWaitWithEagainWhileOthersRun) {
  Fds s = make_socketpair();
  timeval tv{0, 50 * 1000};
  ASSERT_EQ(::setsockopt(s.a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
  Ticker ticker;
  auto g = gs::spawn([&] {
    char buf[4];
    errno = 0;
    const ssize_t n = ::read(s.a, buf, sizeof buf);
    return std::make_pair(n, errno);
  });
  const auto [n, error] = g.get();
  EXPECT_EQ(n, -1);
  EXPECT_EQ(error, EAGAIN);
  EXPECT_GT(ticker.ticks(), 1);
}

TEST_F(PatchTest, SoRcvtimeoHoldsOnAnFdNumberLibcClosedBehindOurBack) {
  // fclose() closes inside libc, where no interposer sees it; the next
  // socket may get the same number, once a pipe's.
  Fds p = make_pipe();
  ASSERT_EQ(::write(p.b, "x", 1), 1);
  const int reused = p.a;
  auto first = gs::spawn([&] {
    char c;
    return ::read(reused, &c, 1);  // remembers "not a socket"
  });
  ASSERT_EQ(first.get(), 1);
  ::syscall(SYS_close, reused);
  p.a = -1;
  int s[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);
  Fds pair{s[0], s[1]};
  ASSERT_EQ(pair.a, reused) << "the test needs the pipe's number reused";
  timeval tv{0, 30 * 1000};
  ASSERT_EQ(::setsockopt(pair.a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
  auto g = gs::spawn([&] {
    char c;
    errno = 0;
    const ssize_t n = ::read(pair.a, &c, 1);
    return std::make_pair(n, errno);
  });
  const auto [n, error] = g.get();
  EXPECT_EQ(n, -1);
  EXPECT_EQ(error, EAGAIN);
}

TEST_F(PatchTest, PartialReadsStayPartial) {
  Fds s = make_socketpair();
  ASSERT_EQ(::write(s.b, "0123456789", 10), 10);
  auto g = gs::spawn([&] {
    char buf[100];
    return ::read(s.a, buf, sizeof buf);
  });
  EXPECT_EQ(g.get(), 10);
}

TEST_F(PatchTest, LargeWritesCompleteWhileTheReaderRuns) {
  // 4 MiB through a pipe and a socket: far more than either buffers, so the
  // writer must wait for the reader greenlet many times.
  for (bool socket : {false, true}) {
    Fds f = socket ? make_socketpair() : make_pipe();
    const std::string data(4 << 20, 'z');
    auto writer = gs::spawn([&] { return ::write(f.b, data.data(), data.size()); });
    auto reader = gs::spawn([&] {
      std::size_t total = 0;
      char buf[65536];
      while (total < data.size()) {
        const ssize_t n = ::read(f.a, buf, sizeof buf);
        if (n <= 0) break;
        total += static_cast<std::size_t>(n);
      }
      return total;
    });
    EXPECT_EQ(writer.get(), static_cast<ssize_t>(data.size())) << (socket ? "socket" : "pipe");
    EXPECT_EQ(reader.get(), data.size()) << (socket ? "socket" : "pipe");
  }
}

TEST_F(PatchTest, WritevOfManyBuffersArrivesInOrder) {
  Fds s = make_socketpair();
  std::vector<std::string> parts;
  for (int i = 0; i < 64; ++i) parts.push_back(std::string(32 * 1024, static_cast<char>('a' + i % 26)));
  std::vector<iovec> iov;
  std::string expected;
  for (auto& p : parts) {
    iov.push_back(iovec{p.data(), p.size()});
    expected += p;
  }
  auto writer = gs::spawn([&] { return ::writev(s.b, iov.data(), static_cast<int>(iov.size())); });
  auto reader = gs::spawn([&] {
    std::string got;
    char buf[65536];
    while (got.size() < expected.size()) {
      const ssize_t n = ::read(s.a, buf, sizeof buf);
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
  });
  EXPECT_EQ(writer.get(), static_cast<ssize_t>(expected.size()));
  EXPECT_TRUE(reader.get() == expected);
}

TEST_F(PatchTest, CloseWakesAReaderWithEbadf) {
  Fds p = make_pipe();
  auto reader = gs::spawn([&] {
    char buf[4];
    errno = 0;
    const ssize_t n = ::read(p.a, buf, sizeof buf);
    return std::make_pair(n, errno);
  });
  auto closer = gs::spawn([&] {
    ::close(p.a);
    p.a = -1;
  });
  const auto [n, error] = reader.get();
  closer.join();
  EXPECT_EQ(n, -1);
  EXPECT_EQ(error, EBADF);
}

TEST_F(PatchTest, SleepsAreCooperative) {
  // a starts its sleep before b starts its longer one, so a's timer is due
  // first however late b gets to run (a's shorter sleep used to be b's: then
  // b starting over 10 ms after a, as under TSan or on a loaded machine,
  // woke a first). Timers that come due in the same poll wake their
  // greenlets in deadline order.
  std::vector<std::string> order;
  auto a = gs::spawn([&] {
    order.push_back("a sleeps");
    ::usleep(10 * 1000);
    order.push_back("a woke");
  });
  auto b = gs::spawn([&] {
    order.push_back("b sleeps");
    const timespec ts{0, 20 * 1000 * 1000};
    timespec rem{1, 1};
    EXPECT_EQ(::nanosleep(&ts, &rem), 0);
    EXPECT_EQ(rem.tv_sec, 0);
    order.push_back("b woke");
  });
  auto c = gs::spawn([&] {
    order.push_back("c sleeps");
    EXPECT_EQ(::sleep(0), 0u);
    order.push_back("c woke");
  });
  gs::joinall({a, b, c});
  EXPECT_EQ(order, (std::vector<std::string>{"a sleeps", "b sleeps", "c sleeps", "c woke", "a woke", "b woke"}));
}

TEST_F(PatchTest, PollAndSelectWaitCooperatively) {
  Fds p = make_pipe();
  auto poller = gs::spawn([&] {
    pollfd fds[2] = {{p.a, POLLIN, 0}, {-1, POLLIN, 0}};
    EXPECT_EQ(::poll(fds, 2, 5), 0);  // times out, nothing ready
    const int n = ::poll(fds, 2, 5000);
    EXPECT_TRUE(fds[0].revents & POLLIN);
    return n;
  });
  auto selector = gs::spawn([&] {
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(p.a, &rd);
    timeval tv{5, 0};
    const int n = ::select(p.a + 1, &rd, nullptr, nullptr, &tv);
    EXPECT_TRUE(FD_ISSET(p.a, &rd));
    return n;
  });
  auto writer = gs::spawn([&] {
    gs::sleep(20ms);
    ASSERT_EQ(::write(p.b, "x", 1), 1);
  });
  EXPECT_EQ(poller.get(), 1);
  EXPECT_EQ(selector.get(), 1);
  writer.join();
}

TEST_F(PatchTest, BlockingAcceptAndConnectInOneThread) {
  // Unpatched this deadlocks: accept() would block the only thread before
  // connect() ever runs.
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 8), 0);
  socklen_t len = sizeof addr;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  auto server = gs::spawn([&] {
    const int c = ::accept(listener, nullptr, nullptr);
    char buf[8] = {};
    const ssize_t n = ::read(c, buf, sizeof buf);
    ::write(c, buf, static_cast<size_t>(n));
    ::close(c);
    return std::string(buf, static_cast<std::size_t>(n));
  });
  auto client = gs::spawn([&] {
    const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_EQ(::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::fcntl(c, F_GETFL) & O_NONBLOCK, 0) << "connect() must leave the socket blocking";
    ::write(c, "ping", 4);
    char buf[8] = {};
    const ssize_t n = ::read(c, buf, sizeof buf);
    ::close(c);
    return std::string(buf, static_cast<std::size_t>(n));
  });
  EXPECT_EQ(server.get(), "ping");
  EXPECT_EQ(client.get(), "ping");
  ::close(listener);
}

TEST_F(PatchTest, ConnectRefusedKeepsErrno) {
  const int probe = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(probe, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(probe);  // nothing listens there now
  auto g = gs::spawn([&] {
    const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    errno = 0;
    const int r = ::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    const int error = errno;
    ::close(c);
    return std::make_pair(r, error);
  });
  const auto [r, error] = g.get();
  EXPECT_EQ(r, -1);
  EXPECT_EQ(error, ECONNREFUSED);
}

TEST_F(PatchTest, GetaddrinfoRunsOnThePool) {
  auto g = gs::spawn([] {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const int rc = ::getaddrinfo("localhost", "80", &hints, &res);
    const bool found = rc == 0 && res != nullptr;
    if (res != nullptr) ::freeaddrinfo(res);
    return std::make_pair(found, gs::default_threadpool().threads_started());
  });
  const auto [found, threads] = g.get();
  EXPECT_TRUE(found);
  EXPECT_EQ(threads, 1u) << "the lookup should have run on the hub's pool";
}

TEST_F(PatchTest, HubsOnSeveralThreadsWaitAtOnce) {
  // Every thread's waits share the fd wait table (under TSan this also
  // checks the table's lock is seen through TSan's blocking-call
  // interceptors).
  std::vector<std::thread> threads;
  std::atomic<int> timeouts{0};
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      Fds p = make_pipe();
      auto g = gs::spawn([&] {
        for (int i = 0; i < 20; ++i) {
          pollfd fd{p.a, POLLIN, 0};
          if (::poll(&fd, 1, 2) == 0) ++timeouts;
        }
      });
      g.join();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(timeouts.load(), 40);
}

TEST_F(PatchTest, CallsOutsideGreenletsGoStraightToLibc) {
  // A thread with no hub: the blocking read blocks that thread, as libc's.
  Fds p = make_pipe();
  std::string got;
  std::thread reader([&] {
    char buf[8];
    const ssize_t n = ::read(p.a, buf, sizeof buf);
    got.assign(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
  });
  ASSERT_EQ(::write(p.b, "plain", 5), 5);
  reader.join();
  EXPECT_EQ(got, "plain");
}

TEST_F(PatchTest, HubCallbacksGoStraightToLibc) {
  Fds p = make_pipe(O_NONBLOCK);
  int error = 0;
  gs::run_callback([&] {
    char buf[4];
    if (::read(p.a, buf, sizeof buf) < 0) error = errno;  // would be a wait in a greenlet
  });
  gs::sleep(1ms);
  EXPECT_EQ(error, EAGAIN);
}

// HandOff is an observer whose hook hands a value to another thread the way
// the tracer's hooks hand events to its writer thread: a plain write, then a
// release store. Under TSan, libtsan's interceptor of a blocking call (usleep
// here) runs our patched function with TSan's interceptors ignored, and code
// in there used to lose its synchronization (runtime/src/core/context.h,
// TsanPatchedCall): TSan then reported the value as a race, as it reported
// the tracer's event bytes. In every build the value must arrive.
struct HandOff : Observer {
  int value = 0;
  std::atomic<bool> ready{false};
  void hand_off() {
    if (ready.load(std::memory_order_relaxed)) return;  // once: the taker may be reading
    value = 42;
    ready.store(true, std::memory_order_release);
  }
  int take() {
    while (!ready.load(std::memory_order_acquire)) std::this_thread::yield();
    return value;
  }
};

struct HandOffAtPatchedWaitEnd : HandOff {
  void on_patched_wait_end(const char*, int) override { hand_off(); }
};

struct HandOffAtBlockingCall : HandOff {
  void on_blocking_call(const char*, int, std::int64_t, const std::uintptr_t*, std::size_t) override { hand_off(); }
};

TEST_F(PatchTest, HooksInsideAPatchedSleepSynchronizeWithOtherThreads) {
  HandOffAtPatchedWaitEnd hook;
  int taken = 0;
  std::thread taker([&] { taken = hook.take(); });
  gs::set_observer(&hook);
  ::usleep(1000);  // the main greenlet's: cooperative
  gs::set_observer(nullptr);
  taker.join();
  EXPECT_EQ(taken, 42);
}

TEST_F(PatchTest, HooksAfterACallThatStillBlocksSynchronizeWithOtherThreads) {
  StallOptions o;
  o.threshold = std::chrono::seconds(10);  // no stall: only the blocking call (over 1 ms) is reported
  gs::start_stall_monitor(o);
  HandOffAtBlockingCall hook;
  int taken = 0;
  std::thread taker([&] { taken = hook.take(); });
  gs::set_observer(&hook);
  gs::Event done;
  gs::run_callback([&] {
    ::usleep(5000);  // the hub's: straight to libc, and reported
    done.set();
  });
  done.wait();
  gs::set_observer(nullptr);
  gs::stop_stall_monitor();
  taker.join();
  EXPECT_EQ(taken, 42);
}

TEST_F(PatchTest, UnpatchedProgramsBlockTheThread) {
  gs::unpatch_all();
  EXPECT_FALSE(gs::patched());
  // With data already there the call simply works, unchanged.
  Fds p = make_pipe();
  ASSERT_EQ(::write(p.b, "x", 1), 1);
  auto g = gs::spawn([&] {
    char c;
    return ::read(p.a, &c, 1);
  });
  EXPECT_EQ(g.get(), 1);
}

// The environment variable patches programs that cannot call patch_all(),
// and LD_PRELOAD puts the runtime's symbols first for any link order.
TEST(PatchEnvironment, GreenscopePatchAllPatchesAtLoad) {
  const std::string probe = PATCH_PROBE_PATH;
  const std::string lib = RUNTIME_LIBRARY_PATH;
  auto run = [](const std::string& cmd) {
    std::string out;
    FILE* f = ::popen(cmd.c_str(), "r");
    char buf[256];
    while (f && std::fgets(buf, sizeof buf, f)) out += buf;
    if (f) ::pclose(f);
    return out;
  };
  EXPECT_EQ(run(probe), "patched=0 cooperative=0\n");
  EXPECT_EQ(run("GREENSCOPE_PATCH_ALL=1 " + probe), "patched=1 cooperative=1\n");
  EXPECT_EQ(run("GREENSCOPE_PATCH_ALL=0 " + probe), "patched=0 cooperative=0\n");
#if defined(GS_SANITIZE_ADDRESS)
  // ASan insists on coming first; preloading after it is what we test here.
  const std::string preload = "ASAN_OPTIONS=verify_asan_link_order=0 LD_PRELOAD=" + lib;
#else
  const std::string preload = "LD_PRELOAD=" + lib;
#endif
  EXPECT_EQ(run(preload + " GREENSCOPE_PATCH_ALL=1 " + probe), "patched=1 cooperative=1\n");
}

}  // namespace
}  // namespace gs::test
