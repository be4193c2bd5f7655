// io_wait_test.cpp: gs::wait_read/wait_write, close while waiting, gs::wait
// and gs::Iwait.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "greenscope/io.h"
#include "test_support.h"

namespace gs::test {
namespace {

// Pipe is a pipe whose ends close with the test.
struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    r = fds[0];
    w = fds[1];
  }
  ~Pipe() {
    if (r >= 0) ::close(r);
    if (w >= 0) ::close(w);
  }
};

class IoWaitTest : public RuntimeTest {};

TEST_F(IoWaitTest, WaitReadReturnsOnceAnotherGreenletWrites) {
  Pipe p;
  std::vector<std::string> order;
  auto reader = gs::spawn([&] {
    order.push_back("reader waits");
    gs::wait_read(p.r);
    order.push_back("reader woke");
  });
  auto writer = gs::spawn([&] {
    order.push_back("writer writes");
    ASSERT_EQ(::write(p.w, "x", 1), 1);
  });
  gs::joinall({reader, writer});
  EXPECT_EQ(order, (std::vector<std::string>{"reader waits", "writer writes", "reader woke"}));
}

TEST_F(IoWaitTest, WaitWriteOnWritableFdReturnsAtOnce) {
  Pipe p;
  auto g = gs::spawn([&] { return gs::wait_io(p.w, kIoWrite); });
  EXPECT_EQ(g.get(), kIoWrite);
}

TEST_F(IoWaitTest, TimeoutRaisesTimeoutError) {
  Pipe p;
  auto g = gs::spawn([&] { gs::wait_read(p.r, 20ms); });
  g.join();
  ASSERT_TRUE(g.exception());
  EXPECT_THROW(std::rethrow_exception(g.exception()), gs::TimeoutError);
  reports.clear();
}

TEST_F(IoWaitTest, CloseByAnotherGreenletWakesTheWaiterWithEbadf) {
  Pipe p;
  int error = 0;
  auto waiter = gs::spawn([&] {
    try {
      gs::wait_read(p.r);
    } catch (const gs::IoError& e) {
      error = e.error();
    }
  });
  auto closer = gs::spawn([&] {
    ::close(p.r);  // the runtime's close() wakes waiters first
    p.r = -1;
  });
  gs::joinall({waiter, closer});
  EXPECT_EQ(error, EBADF);
}

TEST_F(IoWaitTest, CloseFromAnotherThreadWakesTheWaiter) {
  Pipe p;
  int error = 0;
  gs::Event waiting;
  auto waiter = gs::spawn([&] {
    waiting.set();
    try {
      gs::wait_read(p.r);
    } catch (const gs::IoError& e) {
      error = e.error();
    }
  });
  waiting.wait();
  const int fd = p.r;
  p.r = -1;
  std::thread closer([fd] { ::close(fd); });
  waiter.join();
  closer.join();
  EXPECT_EQ(error, EBADF);
}

TEST_F(IoWaitTest, KilledWaiterLeavesNoWatcherBehind) {
  Pipe p;
  auto waiter = gs::spawn([&] { gs::wait_read(p.r); });
  gs::yield();
  waiter.kill();
  EXPECT_TRUE(waiter.killed());
  // Data arriving later must not touch the dead greenlet's watcher.
  ASSERT_EQ(::write(p.w, "x", 1), 1);
  gs::sleep(10ms);
}

TEST_F(IoWaitTest, MisuseSaysHowToCallIt) {
  auto g = gs::spawn([] { gs::wait_io(0, 0); });
  g.join();
  ASSERT_TRUE(g.exception());
  try {
    std::rethrow_exception(g.exception());
  } catch (const gs::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("kIoRead"), std::string::npos) << e.what();
  }
  reports.clear();
}

TEST_F(IoWaitTest, WaitReturnsObjectsInTheOrderTheyBecameReady) {
  gs::Event e1, e2;
  Pipe p;
  auto g = gs::spawn([] { gs::sleep(30ms); });
  gs::spawn_later(10ms, [&] { e2.set(); });
  gs::spawn_later(20ms, [&] { ASSERT_EQ(::write(p.w, "x", 1), 1); });
  std::vector<gs::Waitable> objects{e1, e2, g, gs::Waitable::readable(p.r)};
  const auto ready = gs::wait(objects, kForever, 3);
  EXPECT_EQ(ready, (std::vector<std::size_t>{1, 3, 2}));
  EXPECT_FALSE(e1.is_set());
}

TEST_F(IoWaitTest, WaitWithTimeoutReturnsWhatIsReady) {
  gs::Event never, soon;
  gs::spawn_later(5ms, [&] { soon.set(); });
  std::vector<gs::Waitable> objects{never, soon};
  EXPECT_EQ(gs::wait(objects, 50ms), (std::vector<std::size_t>{1}));
}

TEST_F(IoWaitTest, IwaitYieldsEachObjectOnce) {
  std::vector<gs::GreenletRef> gs_;
  for (int i = 0; i < 5; ++i) gs_.push_back(gs::spawn([i] { gs::sleep(std::chrono::milliseconds(5 * (5 - i))); }));
  std::vector<gs::Waitable> objects(gs_.begin(), gs_.end());
  std::vector<std::size_t> seen;
  gs::Iwait it(objects);
  while (auto i = it.next()) seen.push_back(*i);
  EXPECT_EQ(seen, (std::vector<std::size_t>{4, 3, 2, 1, 0}));
}

}  // namespace
}  // namespace gs::test
