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
  // A sleep returns only through a whole loop iteration, whose fd_reify()
  // hands the waiter's watcher to epoll (epoll_ctl) before it polls; the
  // closer then starts after that, as a thread this one created. Started
  // before it, its close() and the hub's later epoll_ctl() on the same fd
  // had no order at all, which TSan reported as a race on fd 6 (1 in 20
  // loaded TSan runs). Any duration does: this is no guess at a time.
  gs::sleep(std::chrono::milliseconds(1));
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
  // The order is made by cause, not by clock, so it holds however slowly the
  // hub runs. The driver starts from a timer, so only after the hub's first
  // poll, when the wait's helpers all wait. It sets e2 (its helper reports at
  // once: the hub polls only once every ready greenlet has run), then writes
  // the pipe, which the next poll reports; g waits for that byte, so it dies
  // only after the pipe's helper was woken in that same poll.
  gs::Event e1, e2;
  Pipe p;
  auto g = gs::spawn([&] { gs::wait_read(p.r); });
  gs::spawn_later(10ms, [&] {
    e2.set();
    ASSERT_EQ(::write(p.w, "x", 1), 1);
  });
  std::vector<gs::Waitable> objects{e1, e2, g, gs::Waitable::readable(p.r)};
  const auto ready = gs::wait(objects, kForever, 3);
  EXPECT_EQ(ready, (std::vector<std::size_t>{1, 3, 2}));
  EXPECT_FALSE(e1.is_set());
}

TEST_F(IoWaitTest, WaitWithTimeoutReturnsWhatIsReady) {
  gs::Event never, soon;
  // `soon` is set during the wait, yet before the hub first polls, so before
  // the timeout can be seen however slowly this runs (a timer set to do it
  // could come due in the same poll as the timeout). The setter yields first
  // so that the wait's helpers, queued behind it, wait on the events by then.
  auto setter = gs::spawn([&] {
    gs::yield();
    soon.set();
  });
  std::vector<gs::Waitable> objects{never, soon};
  EXPECT_EQ(gs::wait(objects, 50ms), (std::vector<std::size_t>{1}));
  setter.join();
}

TEST_F(IoWaitTest, IwaitYieldsEachObjectOnce) {
  // Greenlet i dies only once greenlet i+1 has (it joins it), and the last
  // one sleeps first, so that the Iwait watches all of them before any dies:
  // they die in the order 4, 3, 2, 1, 0 however slowly they start. (Sleeps of
  // 25, 20, ... 5 ms raced their own start-up: under TSan, which sets up a
  // trace per new fiber, or on a loaded machine, one greenlet can start more
  // than 5 ms after the one before.)
  std::vector<gs::GreenletRef> gs_(5);
  gs_[4] = gs::spawn([] { gs::sleep(5ms); });
  for (int i = 3; i >= 0; --i) gs_[i] = gs::spawn([next = gs_[i + 1]] { next.join(); });
  std::vector<gs::Waitable> objects(gs_.begin(), gs_.end());
  std::vector<std::size_t> seen;
  gs::Iwait it(objects);
  while (auto i = it.next()) seen.push_back(*i);
  EXPECT_EQ(seen, (std::vector<std::size_t>{4, 3, 2, 1, 0}));
}

}  // namespace
}  // namespace gs::test
