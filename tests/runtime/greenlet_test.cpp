#include <memory>
#include <stdexcept>

#include "test_support.h"

namespace gs::test {
namespace {

class Greenlets : public RuntimeTest {};

TEST_F(Greenlets, SpawnDoesNotRunUntilTheSpawnerBlocks) {
  bool ran = false;
  auto g = gs::spawn([&] { ran = true; });
  EXPECT_FALSE(ran);
  EXPECT_FALSE(g.started());
  EXPECT_EQ(g.state(), GreenletState::Ready);
  g.join();
  EXPECT_TRUE(ran);
}

TEST_F(Greenlets, SpawnedGreenletsStartInSpawnOrder) {
  std::vector<int> order;
  std::vector<Greenlet<void>> gs;
  for (int i = 0; i < 5; ++i) gs.push_back(gs::spawn([&order, i] { order.push_back(i); }));
  gs::joinall(gs);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST_F(Greenlets, GetReturnsTheValue) {
  auto g = gs::spawn([](int a, int b) { return a * b; }, 6, 7);
  EXPECT_EQ(g.get(), 42);
  EXPECT_TRUE(g.ready());
  EXPECT_TRUE(g.successful());
  EXPECT_EQ(g.value(), 42);
}

TEST_F(Greenlets, ArgumentsAreMovedIntoTheGreenlet) {
  auto p = std::make_unique<int>(5);
  auto g = gs::spawn([](std::unique_ptr<int> v) { return *v + 1; }, std::move(p));
  EXPECT_EQ(g.get(), 6);
}

TEST_F(Greenlets, AReferenceResultIsKeptAsACopy) {
  auto text = std::make_unique<std::string>("kept");
  auto g = gs::spawn([&]() -> const std::string& { return *text; });
  g.join();
  text.reset();  // what the function referred to is gone; the result is not
  EXPECT_EQ(g.get(), "kept");
}

TEST_F(Greenlets, VoidGreenletGetReturnsAfterItFinished) {
  int x = 0;
  auto g = gs::spawn([&] { x = 3; });
  g.get();
  EXPECT_EQ(x, 3);
}

TEST_F(Greenlets, GetRethrowsTheEscapedExceptionAndTheHubReportsItOnce) {
  auto g = gs::spawn([]() -> int { throw std::runtime_error("boom"); });
  g.set_name("worker");
  EXPECT_THROW(
      {
        try {
          g.get();
        } catch (const std::runtime_error& e) {
          EXPECT_STREQ(e.what(), "boom");
          throw;
        }
      },
      std::runtime_error);
  EXPECT_THROW(g.get(), std::runtime_error);  // again: still the same error
  EXPECT_FALSE(g.successful());
  EXPECT_TRUE(g.exception() != nullptr);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_NE(reports[0].find("'worker'"), std::string::npos) << reports[0];
  EXPECT_NE(reports[0].find("id " + std::to_string(g.id())), std::string::npos) << reports[0];
  EXPECT_NE(reports[0].find("std::runtime_error: boom"), std::string::npos) << reports[0];
}

TEST_F(Greenlets, AnErrorDoesNotStopOtherGreenlets) {
  auto bad = gs::spawn([] { throw std::logic_error("bad"); });
  auto good = gs::spawn([] {
    gs::sleep(1ms);
    return 1;
  });
  EXPECT_EQ(good.get(), 1);
  EXPECT_TRUE(bad.ready());
  EXPECT_EQ(reports.size(), 1u);
}

TEST_F(Greenlets, JoinWithTimeoutReturnsFalseWhileItRuns) {
  gs::Event stop;
  auto g = gs::spawn([&] { stop.wait(); });
  EXPECT_FALSE(g.join(5ms));
  EXPECT_FALSE(g.ready());
  stop.set();
  EXPECT_TRUE(g.join(1s));
}

TEST_F(Greenlets, GetWithTimeoutThrowsTimeoutError) {
  gs::Event stop;
  auto g = gs::spawn([&] {
    stop.wait();
    return 1;
  });
  EXPECT_THROW(g.get(2ms), gs::TimeoutError);
  stop.set();
  EXPECT_EQ(g.get(), 1);
}

TEST_F(Greenlets, JoiningYourselfIsAUsageError) {
  auto g = gs::spawn([] {
    try {
      gs::current().join();
    } catch (const gs::UsageError& e) {
      return std::string(e.what());
    }
    return std::string();
  });
  EXPECT_NE(g.get().find("join() on itself"), std::string::npos) << g.get();
}

// The default name is formatted when asked for, not at spawn: it is the
// same whenever it is asked, and a name the user gives, even one that looks
// like a default, is the greenlet's own.
TEST_F(Greenlets, DefaultNamesAreFormattedWhenAskedAndOwnNamesAreKept) {
  auto g = gs::spawn([] {});
  EXPECT_TRUE(g.info().has_default_name());
  const std::string first = g.name();
  EXPECT_EQ(first, "Greenlet-" + std::to_string(g.id()));
  EXPECT_EQ(g.name(), first);
  EXPECT_TRUE(g.info().has_default_name());
  g.set_name("Greenlet-0");
  EXPECT_FALSE(g.info().has_default_name());
  EXPECT_EQ(g.name(), "Greenlet-0");
  g.set_name("");
  EXPECT_EQ(g.name(), "");  // empty is a name too, not the default again
  g.join();
  EXPECT_FALSE(gs::current().info().has_default_name());
  EXPECT_EQ(gs::current().name(), "main");
}

TEST_F(Greenlets, NamesDefaultToGreenletAndId) {
  auto g = gs::spawn([] {});
  EXPECT_EQ(g.name(), "Greenlet-" + std::to_string(g.id()));
  g.set_name("fetcher");
  EXPECT_EQ(g.name(), "fetcher");
  g.join();
  auto h = gs::spawn([] {});
  EXPECT_GT(h.id(), g.id());
  h.join();
}

TEST_F(Greenlets, HandlesShareOwnership) {
  Greenlet<int> copy;
  {
    auto g = gs::spawn([] { return 9; });
    copy = g;
    EXPECT_TRUE(copy == g);
  }
  EXPECT_EQ(copy.get(), 9);
  GreenletRef untyped = copy;
  EXPECT_TRUE(untyped.ready());
}

TEST_F(Greenlets, AGreenletWithoutHandlesStillRunsToTheEnd) {
  // Main waits for the greenlet's end, told by the greenlet itself, not for
  // a time: a 10 ms sleep here raced the greenlet's 1 ms one, which starts
  // only when the hub first runs it (after a new fiber's set-up under TSan;
  // whenever the machine gives the thread the CPU back when loaded), and
  // could come due first. If dropping the handle ended the greenlet, this
  // wait would end in LoopExit.
  int done = 0;
  gs::Event finished;
  gs::spawn([&] {
    gs::sleep(1ms);  // blocks with no handle left
    ++done;
    finished.set();
  });
  EXPECT_TRUE(finished.wait());
  EXPECT_EQ(done, 1);
}

TEST_F(Greenlets, SpawnLaterStartsAfterTheDelay) {
  // Delays order the starts, not spawn order: `late` is spawned first and
  // must still be waiting when `early` starts. Each delay counts from its
  // own spawn_later() call, so with 20 ms against 5 ms the deadlines crossed
  // whenever the thread was held up over 15 ms between the two calls (a
  // loaded machine). `late`'s delay is past ctest's 120 s limit for this
  // test, so no run that ctest lets finish sees it come due; it is killed
  // unstarted instead.
  const auto start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point ran_at;
  bool late_ran = false;
  auto late = gs::spawn_later(600s, [&] { late_ran = true; });
  auto early = gs::spawn_later(20ms, [&] { ran_at = std::chrono::steady_clock::now(); });
  EXPECT_EQ(late.state(), GreenletState::New);
  EXPECT_EQ(early.state(), GreenletState::New);
  early.join();
  EXPECT_GE(ran_at - start, 20ms);
  EXPECT_EQ(late.state(), GreenletState::New);  // not even queued: its delay has not passed
  late.kill();
  EXPECT_TRUE(late.killed());
  EXPECT_FALSE(late_ran);
}

TEST_F(Greenlets, LinkCallsBackInTheHubWhenItDies) {
  std::vector<std::uint64_t> seen;
  auto g = gs::spawn([] { gs::sleep(1ms); });
  g.link([&](GreenletRef dead) {
    EXPECT_TRUE(dead.ready());
    EXPECT_EQ(gs::current().info().kind(), GreenletKind::Hub);
    seen.push_back(dead.id());
  });
  g.join();
  gs::yield();  // links run as callbacks after the death
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], g.id());
}

TEST_F(Greenlets, LinkOnADeadGreenletRunsSoon) {
  auto g = gs::spawn([] {});
  g.join();
  bool called = false;
  g.link([&](GreenletRef) { called = true; });
  EXPECT_FALSE(called);
  gs::yield();
  EXPECT_TRUE(called);
}

TEST_F(Greenlets, JoinallReturnsThoseThatFinished) {
  gs::Event never;
  auto quick = gs::spawn([] {});
  auto stuck = gs::spawn([&] { never.wait(); });
  // quick has finished before joinall takes its 10 ms deadline: joinall
  // checks the deadline before each wait, so a thread held up 10 ms between
  // taking it and its first wait (a loaded machine) returned with quick
  // never run, and nothing finished.
  gs::yield();
  ASSERT_TRUE(quick.ready());
  auto done = gs::joinall(std::vector<GreenletRef>{quick, stuck}, 10ms);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0] == quick);
  stuck.kill();
}

TEST_F(Greenlets, JoinallWithRaiseErrorRethrows) {
  auto a = gs::spawn([] { throw std::runtime_error("first"); });
  auto b = gs::spawn([] {});
  EXPECT_THROW(gs::joinall(std::vector<GreenletRef>{a, b}, kForever, true), std::runtime_error);
  b.join();
}

TEST_F(Greenlets, KillallKillsEveryone) {
  gs::Event never;
  std::vector<Greenlet<void>> all;
  for (int i = 0; i < 4; ++i) all.push_back(gs::spawn([&] { never.wait(); }));
  gs::sleep(1ms);
  gs::killall(all);
  for (auto& g : all) EXPECT_TRUE(g.killed());
}

TEST_F(Greenlets, CurrentIsTheRunningGreenlet) {
  EXPECT_EQ(gs::current().info().kind(), GreenletKind::Main);
  EXPECT_EQ(gs::current().name(), "main");
  GreenletRef inner;
  auto g = gs::spawn([&] { inner = gs::current(); });
  g.join();
  EXPECT_TRUE(inner == g);
}

TEST_F(Greenlets, SpawnerIdIsRecorded) {
  auto outer = gs::spawn([] {
    auto inner = gs::spawn([] {});
    inner.join();
    return inner.info().spawner_id();
  });
  EXPECT_EQ(outer.get(), outer.id());
}

TEST_F(Greenlets, EmptyHandleIsAUsageError) {
  Greenlet<int> none;
  EXPECT_FALSE(none);
  EXPECT_THROW(none.join(), gs::UsageError);
}

TEST_F(Greenlets, ExceptionsInFlightStayWithTheirGreenlet) {
  // Each greenlet blocks inside a catch block while the other throws: the
  // C++ runtime's per-thread exception stack must follow each greenlet.
  auto worker = [](const char* text) {
    try {
      throw std::runtime_error(text);
    } catch (const std::exception&) {
      gs::yield();
      gs::sleep(1ms);
      try {
        throw;
      } catch (const std::runtime_error& again) {
        return std::string(again.what());
      }
    }
  };
  auto a = gs::spawn(worker, "alpha");
  auto b = gs::spawn(worker, "beta");
  EXPECT_EQ(a.get(), "alpha");
  EXPECT_EQ(b.get(), "beta");
  EXPECT_EQ(std::uncaught_exceptions(), 0);
}

}  // namespace
}  // namespace gs::test
