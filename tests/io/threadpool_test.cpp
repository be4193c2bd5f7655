// threadpool_test.cpp: gs::ThreadPool, run_in_thread and gs::getaddrinfo.
#include <netinet/in.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "greenscope/threadpool.h"
#include "test_support.h"

namespace gs::test {
namespace {

class ThreadPoolTest : public RuntimeTest {};

TEST_F(ThreadPoolTest, ApplyReturnsTheValueFromAnotherThread) {
  auto g = gs::spawn([] {
    gs::ThreadPool pool(2);
    const auto caller = std::this_thread::get_id();
    const auto worker = pool.apply([] { return std::this_thread::get_id(); });
    EXPECT_NE(worker, caller);
    return pool.apply([] { return 6 * 7; });
  });
  EXPECT_EQ(g.get(), 42);
}

TEST_F(ThreadPoolTest, ApplyRethrowsTheJobsException) {
  auto g = gs::spawn([] {
    return gs::run_in_thread([]() -> int { throw std::runtime_error("from the pool"); });
  });
  g.join();
  ASSERT_TRUE(g.exception());
  try {
    std::rethrow_exception(g.exception());
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "from the pool");
  }
  reports.clear();
}

TEST_F(ThreadPoolTest, OtherGreenletsRunWhileAJobBlocks) {
  // The job can only finish once a greenlet has run meanwhile: if apply()
  // blocked the thread, the flag would never be set (the job gives up
  // after 5 s and reports it).
  std::atomic<bool> greenlet_ran{false};
  auto job = gs::spawn([&] {
    return gs::run_in_thread([&] {
      for (int i = 0; i < 5000 && !greenlet_ran.load(); ++i) std::this_thread::sleep_for(1ms);
      return greenlet_ran.load();
    });
  });
  auto other = gs::spawn([&] { greenlet_ran = true; });
  EXPECT_TRUE(job.get());
  other.join();
}

TEST_F(ThreadPoolTest, JobsRunInParallelUpToMaxThreads) {
  // Three jobs that each wait for all three to have started: they finish
  // only if three threads run them at once.
  gs::ThreadPool pool(3);
  std::mutex m;
  std::condition_variable cv;
  int started = 0;
  auto job = [&] {
    std::unique_lock<std::mutex> lock(m);
    ++started;
    cv.notify_all();
    return cv.wait_for(lock, 5s, [&] { return started == 3; });
  };
  std::vector<gs::Greenlet<bool>> callers;
  for (int i = 0; i < 3; ++i) callers.push_back(gs::spawn([&] { return pool.apply(job); }));
  for (auto& c : callers) EXPECT_TRUE(c.get());
  EXPECT_EQ(pool.threads_started(), 3u);
  EXPECT_EQ(pool.pending(), 0u);
}

TEST_F(ThreadPoolTest, AKilledCallerLetsTheJobFinish) {
  std::atomic<bool> started{false};
  std::atomic<bool> finished{false};
  std::atomic<bool> release{false};
  {
    gs::ThreadPool pool(1);
    auto g = gs::spawn([&] {
      pool.apply([&] {
        started = true;
        while (!release.load()) std::this_thread::sleep_for(1ms);
        finished = true;
      });
    });
    while (!started.load()) gs::sleep(1ms);  // running, not just queued
    g.kill();
    EXPECT_TRUE(g.killed());
    release = true;
  }  // the pool's destructor waits for the running job
  EXPECT_TRUE(finished.load());
}

TEST_F(ThreadPoolTest, ApplyFromAHubCallbackIsAUsageError) {
  std::string message;
  gs::run_callback([&] {
    try {
      gs::run_in_thread([] { return 1; });
    } catch (const gs::UsageError& e) {
      message = e.what();
    }
  });
  gs::sleep(1ms);
  EXPECT_NE(message.find("from a greenlet"), std::string::npos) << message;
}

TEST_F(ThreadPoolTest, DefaultPoolHasTheConfiguredSize) {
  auto g = gs::spawn([] { return gs::default_threadpool().max_threads(); });
  EXPECT_EQ(g.get(), 10u);
}

TEST_F(ThreadPoolTest, GetaddrinfoResolvesLocalhost) {
  auto g = gs::spawn([] { return gs::getaddrinfo("localhost", "80"); });
  const auto results = g.get();
  ASSERT_FALSE(results.empty());
  bool loopback = false;
  for (const auto& r : results) {
    if (r.family == AF_INET) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(r.address.data());
      loopback |= ntohl(sin->sin_addr.s_addr) == INADDR_LOOPBACK;
    }
    if (r.family == AF_INET6) loopback = true;
  }
  EXPECT_TRUE(loopback);
}

TEST_F(ThreadPoolTest, GetaddrinfoFailureIsAGaiError) {
  auto g = gs::spawn([] { gs::getaddrinfo("no-such-host.invalid", "80"); });
  g.join();
  ASSERT_TRUE(g.exception());
  try {
    std::rethrow_exception(g.exception());
  } catch (const gs::GaiError& e) {
    EXPECT_NE(e.code(), 0);
    EXPECT_NE(std::string(e.what()).find("no-such-host.invalid"), std::string::npos);
  }
  reports.clear();
}

}  // namespace
}  // namespace gs::test
