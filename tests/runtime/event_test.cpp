#include <stdexcept>

#include "test_support.h"

namespace gs::test {
namespace {

class EventTest : public RuntimeTest {};

TEST_F(EventTest, SetWakesEveryWaiter) {
  gs::Event ev;
  int woken = 0;
  std::vector<Greenlet<void>> all;
  for (int i = 0; i < 5; ++i) all.push_back(gs::spawn([&] { woken += ev.wait() ? 1 : 0; }));
  gs::yield();
  EXPECT_EQ(woken, 0);
  ev.set();
  gs::joinall(all);
  EXPECT_EQ(woken, 5);
}

TEST_F(EventTest, WaitOnASetEventReturnsAtOnce) {
  gs::Event ev;
  ev.set();
  EXPECT_TRUE(ev.is_set());
  EXPECT_TRUE(ev.wait());
  ev.clear();
  EXPECT_FALSE(ev.is_set());
}

TEST_F(EventTest, WaitTimesOutWithFalse) {
  gs::Event ev;
  EXPECT_FALSE(ev.wait(2ms));
}

TEST_F(EventTest, SetThenClearStillWakesWaitersWithTrue) {
  gs::Event ev;
  auto g = gs::spawn([&] { return ev.wait(); });
  gs::yield();
  ev.set();
  ev.clear();
  EXPECT_TRUE(g.get());
}

TEST_F(EventTest, AnEventMayBeDestroyedOnceSetEvenBeforeItsWaitersRun) {
  // As with std::condition_variable: destroying it after notifying is fine.
  std::vector<Greenlet<bool>> waiters;
  {
    auto done = std::make_unique<gs::Event>();
    for (int i = 0; i < 3; ++i) waiters.push_back(gs::spawn([&done] { return done->wait(); }));
    gs::yield();   // all three wait
    done->set();   // all three are now Ready, none has run yet
    done.reset();  // freed memory: ASan reports any later touch
  }
  for (auto& w : waiters) EXPECT_TRUE(w.get());
}

TEST_F(EventTest, AKilledNotifiedWaiterDoesNotTouchADestroyedPrimitive) {
  auto sem = std::make_unique<gs::Semaphore>(0);
  auto waiter = gs::spawn([&sem] { sem->acquire(); });
  gs::yield();
  sem->release();        // notifies the waiter
  waiter.kill(false);    // it will leave by GreenletExit, holding a notification
  sem.reset();           // and the semaphore is gone before it runs
  waiter.join();
  EXPECT_TRUE(waiter.killed());
}

TEST_F(EventTest, AsyncResultCarriesAValue) {
  gs::AsyncResult<std::string> r;
  auto g = gs::spawn([&] { return r.get(); });
  gs::yield();
  EXPECT_FALSE(r.ready());
  r.set("hello");
  EXPECT_EQ(g.get(), "hello");
  EXPECT_TRUE(r.successful());
}

TEST_F(EventTest, AsyncResultCarriesAnException) {
  gs::AsyncResult<int> r;
  auto g = gs::spawn([&] { return r.get(); });
  gs::yield();
  r.set_exception(std::make_exception_ptr(std::out_of_range("nope")));
  EXPECT_THROW(g.get(), std::out_of_range);
  EXPECT_TRUE(r.ready());
  EXPECT_FALSE(r.successful());
  EXPECT_TRUE(r.exception() != nullptr);
  EXPECT_EQ(reports.size(), 1u);
}

TEST_F(EventTest, AsyncResultGetTimesOut) {
  gs::AsyncResult<int> r;
  EXPECT_THROW(r.get(2ms), gs::TimeoutError);
  EXPECT_FALSE(r.wait(1ms));
}

TEST_F(EventTest, AsyncResultOfVoid) {
  gs::AsyncResult<void> r;
  auto g = gs::spawn([&] { r.get(); });
  gs::yield();
  r.set();
  g.get();
  EXPECT_TRUE(r.successful());
}

}  // namespace
}  // namespace gs::test
