#include <atomic>
#include <latch>
#include <thread>

#include "test_support.h"

namespace gs::test {
namespace {

class ThreadsTest : public RuntimeTest {};

TEST_F(ThreadsTest, EachThreadGetsItsOwnHubAndLoop) {
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  std::vector<gs::Hub*> hubs(kThreads);
  std::vector<struct ev_loop*> loops(kThreads);
  std::vector<int> sums(kThreads);
  // Every thread stays alive until all have recorded their loop: a finished
  // thread's loop is freed and its address may be reused.
  std::latch all_recorded(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      hubs[t] = &gs::get_hub();
      loops[t] = gs::get_hub().loop();
      all_recorded.arrive_and_wait();
      gs::Queue<int> q;
      auto producer = gs::spawn([&] {
        for (int i = 1; i <= 100; ++i) {
          q.put(i);
          gs::yield();
        }
      });
      int sum = 0;
      for (int i = 0; i < 100; ++i) sum += q.get();
      producer.join();
      gs::sleep(2ms);
      sums[t] = sum;
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(sums[t], 5050);
    EXPECT_NE(hubs[t], &gs::get_hub());
    EXPECT_NE(loops[t], gs::get_hub().loop());
    for (int u = t + 1; u < kThreads; ++u) EXPECT_NE(loops[t], loops[u]);
  }
}

TEST_F(ThreadsTest, TouchingAGreenletFromAnotherThreadIsAUsageError) {
  gs::Event go;
  auto g = gs::spawn([&] { go.wait(); });
  std::string message;
  std::thread other([&] {
    try {
      g.join();
    } catch (const gs::UsageError& e) {
      message = e.what();
    }
  });
  other.join();
  EXPECT_NE(message.find("from another thread"), std::string::npos) << message;
  go.set();
  g.join();
}

TEST_F(ThreadsTest, SignallingAPrimitiveFromAnotherThreadIsAUsageError) {
  gs::Event ev;
  auto waiter = gs::spawn([&] { return ev.wait(); });
  gs::yield();
  std::string message;
  std::thread other([&] {
    try {
      ev.set();
    } catch (const gs::UsageError& e) {
      message = e.what();
    }
  });
  other.join();
  EXPECT_NE(message.find("run_callback_threadsafe"), std::string::npos) << message;
  gs::run_callback([&] { ev.set(); });  // the right way, from this thread
  EXPECT_TRUE(waiter.get());
}

TEST_F(ThreadsTest, ThreadExitKillsItsRemainingGreenletsWithCleanup) {
  std::atomic<int> cleaned{0};
  std::thread t([&] {
    for (int i = 0; i < 3; ++i) {
      gs::spawn([&] {
        struct Cleanup {
          std::atomic<int>& n;
          ~Cleanup() { ++n; }
        } c{cleaned};
        gs::sleep(100s);
      });
    }
    gs::sleep(1ms);  // the three start and block
    gs::spawn([&] {  // queued, never started before the thread ends: never runs
      struct Cleanup {
        std::atomic<int>& n;
        ~Cleanup() { n += 100; }
      } c{cleaned};
    });
  });
  t.join();
  EXPECT_EQ(cleaned.load(), 3);
}

TEST_F(ThreadsTest, CallbacksPostedFromManyThreadsAllRun) {
  gs::Hub& hub = gs::get_hub();
  int count = 0;
  gs::Event done;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 250; ++i) {
        hub.run_callback_threadsafe([&] {
          if (++count == 1000) done.set();
        });
      }
    });
  }
  EXPECT_TRUE(done.wait(30s));
  for (auto& th : threads) th.join();
  EXPECT_EQ(count, 1000);
}

}  // namespace
}  // namespace gs::test
