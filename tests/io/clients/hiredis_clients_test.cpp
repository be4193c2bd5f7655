// hiredis_clients_test.cpp: hiredis's blocking API (redisConnectUnix,
// redisCommand), one connection per greenlet, against a private redis-server
// the test starts on a Unix socket. redis itself counts the clients blocked
// in BLPOP (INFO clients: blocked_clients), read from a std::thread that has
// no hub: that count, not a clock, says whether the greenlets waited together.
// The BLPOPs of those counts end on cue, once the count was seen, not on
// their own timeout (BlpopReleaser), so however slowly they start they are
// seen blocked together.
#include <hiredis/hiredis.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "client_test_support.h"

namespace gs::clients {
namespace {

class HiredisClients : public ClientTest {
 protected:
  void SetUp() override {
    ClientTest::SetUp();
    const auto redis_server = find_executable("redis-server");
    if (!redis_server) {
      GTEST_SKIP() << "redis-server is not installed, so the test has no redis to talk to; "
                      "scripts/install-deps.sh installs it";
    }
    redis.start(*redis_server);
  }
  void TearDown() override {
    redis.stop();
    ClientTest::TearDown();
  }

  RedisServer redis;
};

// blocked_client_ids() reads a CLIENT LIST reply: the ids of the clients
// whose flags include 'b' (blocked in a command such as BLPOP).
std::vector<std::string> blocked_client_ids(const std::string& list) {
  std::vector<std::string> ids;
  std::istringstream lines(list);
  for (std::string line; std::getline(lines, line);) {
    std::string id, flags;
    std::istringstream fields(line);
    for (std::string field; fields >> field;) {
      if (field.rfind("id=", 0) == 0) id = field.substr(3);
      if (field.rfind("flags=", 0) == 0) flags = field.substr(6);
    }
    if (!id.empty() && flags.find('b') != std::string::npos) ids.push_back(id);
  }
  return ids;
}

// BlpopReleaser ends blocked BLPOPs as their timeout would (CLIENT UNBLOCK
// <id> TIMEOUT: redis answers nil, the timed-out BLPOP's reply), but on cue
// rather than on a clock. A std::thread with no hub (its calls go straight
// to libc, patched or not) waits until `monitor` has seen `together` clients
// blocked at once, then unblocks every client blocked in redis, and goes on
// unblocking those that block later until stop(). So the monitor cannot miss
// the moment a test waits for, however slowly the clients get there. If it
// has not come within kGiveUp, the releaser gives up waiting and unblocks
// anyway: a test whose clients cannot block together (broken patching) fails
// on the count instead of hanging.
class BlpopReleaser {
 public:
  static constexpr std::chrono::seconds kGiveUp{20};
  // kBlpopTimeoutS is the BLPOPs' own timeout for tests that use a releaser:
  // longer than kGiveUp, so that with the releaser running, it and not the
  // timeout ends every BLPOP; it only bounds a run whose releaser failed.
  static constexpr double kBlpopTimeoutS = 30;

  BlpopReleaser(std::string socket_path, const BlockedClientsMonitor& monitor, long together)
      : socket_path_(std::move(socket_path)), monitor_(monitor), together_(together), thread_([this] { run(); }) {}
  ~BlpopReleaser() { join(); }
  BlpopReleaser(const BlpopReleaser&) = delete;
  BlpopReleaser& operator=(const BlpopReleaser&) = delete;

  // stop() ends the thread and returns how many BLPOPs it unblocked.
  long stop() {
    join();
    if (!error_.empty()) throw std::runtime_error("the BLPOP releaser failed: " + error_);
    return released_.load();
  }

 private:
  void join() {
    stopping_.store(true);
    if (thread_.joinable()) thread_.join();
  }

  void run() {
    redisContext* c = redisConnectUnix(socket_path_.c_str());
    if (c == nullptr || c->err) {
      error_ = c ? c->errstr : "redisConnectUnix failed";
      if (c) redisFree(c);
      return;
    }
    const auto give_up = std::chrono::steady_clock::now() + kGiveUp;
    while (!stopping_.load() && monitor_.max_blocked() < together_ && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    while (!stopping_.load() && error_.empty()) {
      auto* list = static_cast<redisReply*>(redisCommand(c, "CLIENT LIST"));
      if (list == nullptr) {
        error_ = std::string("CLIENT LIST: ") + c->errstr;
        break;
      }
      std::vector<std::string> ids;
      if (list->type == REDIS_REPLY_STRING) ids = blocked_client_ids(std::string(list->str, list->len));
      freeReplyObject(list);
      for (const std::string& id : ids) {
        auto* reply = static_cast<redisReply*>(redisCommand(c, "CLIENT UNBLOCK %s TIMEOUT", id.c_str()));
        if (reply == nullptr) {
          error_ = std::string("CLIENT UNBLOCK: ") + c->errstr;
          break;
        }
        if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 1) released_.fetch_add(1);
        freeReplyObject(reply);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    redisFree(c);
  }

  std::string socket_path_;
  const BlockedClientsMonitor& monitor_;
  long together_;
  std::atomic<bool> stopping_{false};
  std::atomic<long> released_{0};
  std::string error_;  // written by the thread, read after join
  std::thread thread_;
};

// TimedBlpop is the outcome of a BLPOP that nothing answers, on a connection
// with hiredis's command timeout (redisSetTimeout: SO_RCVTIMEO/SO_SNDTIMEO).
struct TimedBlpop {
  bool got_reply = false;
  int err = 0;
  std::string errstr;
};

TimedBlpop blpop_with_command_timeout(const std::string& socket_path, const std::string& key) {
  TimedBlpop out;
  redisContext* c = redisConnectUnix(socket_path.c_str());
  if (c == nullptr || c->err) {
    out.err = c ? c->err : -1;
    if (c) redisFree(c);
    return out;
  }
  redisSetTimeout(c, timeval{0, 200000});
  auto* reply = static_cast<redisReply*>(redisCommand(c, "BLPOP %s 0", key.c_str()));
  out.got_reply = reply != nullptr;
  out.err = c->err;
  out.errstr = c->errstr;
  if (reply != nullptr) freeReplyObject(reply);
  redisFree(c);
  return out;
}

// check_command_timeout() runs blpop_with_command_timeout() in a greenlet
// under patch_all. If the timeout does not end the wait, the test unblocks
// it with an RPUSH (from a hub-less std::thread) after 5 s and fails.
void check_command_timeout(const std::string& socket_path, bool read_a_file_first) {
  gs::patch_all();
  auto g = gs::spawn([&socket_path, read_a_file_first] {
    if (read_a_file_first) {
      std::string line;
      std::ifstream("/proc/self/stat") >> line;  // read() is interposed; its fclose() is not
    }
    return blpop_with_command_timeout(socket_path, "never-pushed");
  });
  if (!g.join(std::chrono::seconds(5))) {
    std::thread([&] { redis_command(socket_path, {"RPUSH", "never-pushed", "unblock"}); }).join();
  }
  const TimedBlpop r = g.get();
  gs::unpatch_all();
  EXPECT_FALSE(r.got_reply) << "the 200 ms command timeout never fired: the BLPOP waited until the RPUSH";
  EXPECT_EQ(r.err, REDIS_ERR_IO) << r.errstr;
}

// BLPOPs that each lasted 1 s had to be blocked together within that second,
// and the monitor had to sample them then: under TSan or on a loaded
// machine, starting 50 greenlets can take long enough that the first BLPOPs
// time out before the last ones block. Now each BLPOP lasts until the
// monitor has seen all 50 blocked at once.
TEST_F(HiredisClients, FiftyBlpopsAreBlockedInRedisTogetherUnderPatchAll) {
  BlockedClientsMonitor monitor(redis.socket_path());
  BlpopReleaser releaser(redis.socket_path(), monitor, 50);
  gs::patch_all();
  std::vector<RedisResult> results;
  const auto wall = gs::test::elapsed(
      [&] { results = run_blpop_clients(redis.socket_path(), 50, BlpopReleaser::kBlpopTimeoutS); });
  gs::unpatch_all();
  const long released = releaser.stop();
  const long max_blocked = monitor.stop();

  ASSERT_EQ(results.size(), 50u);
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].type, REDIS_REPLY_NIL) << "BLPOP " << i << " should time out empty: " << results[i].text;
  }
  EXPECT_EQ(max_blocked, 50) << "redis never had the 50 greenlets' BLPOPs blocked at once ("
                             << monitor.samples() << " INFO samples)";
  EXPECT_EQ(released, 50) << "every BLPOP should have been ended by the releaser, none by its own timeout";
  std::printf("patch_all on: 50 BLPOP in %.3f s, redis saw at most %ld blocked clients\n", wall.count(),
              max_blocked);
}

TEST_F(HiredisClients, WithoutPatchAllBlpopsBlockOneAtATime) {
  BlockedClientsMonitor monitor(redis.socket_path());
  // Each BLPOP ends once the monitor has seen one blocked (not after a 1 s
  // timeout the monitor's sampling had to fall within).
  BlpopReleaser releaser(redis.socket_path(), monitor, 1);
  std::vector<RedisResult> results;
  const auto wall = gs::test::elapsed(
      [&] { results = run_blpop_clients(redis.socket_path(), 3, BlpopReleaser::kBlpopTimeoutS); });
  const long released = releaser.stop();
  const long max_blocked = monitor.stop();

  ASSERT_EQ(results.size(), 3u);
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].type, REDIS_REPLY_NIL) << "BLPOP " << i << ": " << results[i].text;
  }
  EXPECT_LE(max_blocked, 1) << "unpatched, a greenlet in redisCommand blocks the whole thread";
  EXPECT_EQ(max_blocked, 1) << "the monitor never saw a blocked client: is it watching? ("
                            << monitor.samples() << " INFO samples)";
  EXPECT_EQ(released, 3) << "every BLPOP should have been ended by the releaser, none by its own timeout";
  std::printf("patch_all off: 3 BLPOP in %.3f s, redis saw at most %ld blocked clients\n", wall.count(),
              max_blocked);
}

// The wake-up direction: greenlets blocked in hiredis's read() resume when
// another greenlet's RPUSH makes their data arrive, each with its own value.
TEST_F(HiredisClients, RpushFromAGreenletWakesEachBlockedGreenlet) {
  constexpr int kClients = 50;
  gs::patch_all();
  std::vector<gs::Greenlet<RedisResult>> waiters;
  for (int i = 0; i < kClients; ++i) {
    waiters.push_back(gs::spawn([this, i] { return blpop(redis.socket_path(), "jobs:" + std::to_string(i), 30); }));
  }
  auto pusher = gs::spawn([this] {
    // Push only once redis says every waiter is blocked (bounded, so a broken
    // patch fails the assertions below instead of hanging).
    long blocked = 0;
    for (int tries = 0; tries < 2000 && blocked < kClients; ++tries) {
      const RedisResult info = redis_command(redis.socket_path(), {"INFO", "clients"});
      const auto at = info.text.find("blocked_clients:");
      blocked = at == std::string::npos ? -1 : std::stol(info.text.substr(at + 16));
      if (blocked < kClients) gs::sleep(std::chrono::milliseconds(5));
    }
    for (int i = kClients - 1; i >= 0; --i) {
      const std::string n = std::to_string(i);
      redis_command(redis.socket_path(), {"RPUSH", "jobs:" + n, "job-" + n});
    }
    return blocked;
  });
  gs::joinall(waiters);
  const long blocked_before_push = pusher.get();
  gs::unpatch_all();

  EXPECT_EQ(blocked_before_push, kClients);
  for (int i = 0; i < kClients; ++i) {
    const RedisResult r = waiters[static_cast<std::size_t>(i)].get();
    EXPECT_EQ(r.type, REDIS_REPLY_ARRAY) << "waiter " << i << ": " << r.text;
    EXPECT_EQ(r.text, "job-" + std::to_string(i));
  }
}

// hiredis's command timeout (SO_RCVTIMEO) still ends a wait under patch_all.
TEST_F(HiredisClients, CommandTimeoutEndsABlpopUnderPatchAll) {
  check_command_timeout(redis.socket_path(), false);
}

// The same after a std::ifstream in the greenlet used and closed the fd
// number the connection's socket then gets. A regression test: the ifstream's
// read() goes through the interposer, which notes "fd N is not a socket", but
// libstdc++ closes the file with fclose(), inside glibc, without the
// interposed close() that forgets the note; the socket reusing fd N was then
// waited on as a pipe, with no SO_RCVTIMEO, and the BLPOP waited forever
// (patch.cpp now checks the hint with SO_TYPE before it waits).
TEST_F(HiredisClients, CommandTimeoutEndsABlpopAfterAnIfstreamUsedTheFd) {
  check_command_timeout(redis.socket_path(), true);
}

// Plain request/response traffic from many greenlets at once stays correct:
// 50 connections, 20 INCRs each, interleaved by the hub.
TEST_F(HiredisClients, ManyGreenletsCountersAddUp) {
  gs::patch_all();
  std::vector<gs::Greenlet<int>> clients;
  for (int i = 0; i < 50; ++i) {
    clients.push_back(gs::spawn([this] {
      redisContext* c = redisConnectUnix(redis.socket_path().c_str());
      if (c == nullptr || c->err) {
        if (c) redisFree(c);
        return -1;
      }
      int ok = 0;
      for (int k = 0; k < 20; ++k) {
        auto* reply = static_cast<redisReply*>(redisCommand(c, "INCR counter"));
        if (reply != nullptr && reply->type == REDIS_REPLY_INTEGER) ++ok;
        if (reply != nullptr) freeReplyObject(reply);
        gs::yield();
      }
      redisFree(c);
      return ok;
    }));
  }
  gs::joinall(clients);
  gs::unpatch_all();
  for (auto& g : clients) EXPECT_EQ(g.get(), 20);
  EXPECT_EQ(redis_command(redis.socket_path(), {"GET", "counter"}).text, "1000");
}

}  // namespace
}  // namespace gs::clients
