// curl_clients_test.cpp: libcurl's blocking easy API (curl_easy_perform),
// one transfer per greenlet, against slow_http_server.py in its own process.
// The server counts the requests it serves at once: that count, not a
// clock, says whether the greenlets' transfers overlapped. It holds every
// response until all the test's requests are in flight together (--gather),
// so overlapping transfers are seen overlapping however slowly they start.
#include <cstdio>
#include <string>

#include "client_test_support.h"

namespace gs::clients {
namespace {

class CurlClients : public ClientTest {
 protected:
  void SetUp() override {
    ClientTest::SetUp();
    const auto python3 = find_executable("python3");
    if (!python3) {
      GTEST_SKIP() << "python3 is not installed, so the test's HTTP server (slow_http_server.py) cannot run; "
                      "scripts/install-deps.sh installs it";
    }
    python3_ = *python3;
  }
  // start_server() holds each response delay_ms, and with `gather` until
  // that many requests are in flight together (or 20 s have passed, once).
  void start_server(int delay_ms, int gather = 0) {
    server.start(python3_, GS_SLOW_HTTP_SERVER_PY, delay_ms, gather);
  }
  void TearDown() override {
    server.stop();
    ClientTest::TearDown();
  }

  void expect_all_ok(const std::vector<HttpResult>& results) {
    for (std::size_t i = 0; i < results.size(); ++i) {
      EXPECT_EQ(results[i].curl_code, CURLE_OK) << "request " << i << ": " << results[i].error;
      EXPECT_EQ(results[i].status, 200) << "request " << i;
      EXPECT_EQ(results[i].body, "ok /item/" + std::to_string(i) + "\n") << "request " << i;
    }
  }

  SlowHttpServer server;
  std::string python3_;
};

TEST_F(CurlClients, FiftyEasyPerformsAreInFlightTogetherUnderPatchAll) {
  start_server(0, /*gather=*/50);
  gs::patch_all();
  std::vector<HttpResult> results;
  const auto wall = gs::test::elapsed([&] { results = run_curl_clients(server, 50); });
  gs::unpatch_all();

  ASSERT_EQ(results.size(), 50u);
  expect_all_ok(results);
  const HttpStats stats = server.stats();
  EXPECT_EQ(stats.requests, 50);
  EXPECT_EQ(stats.in_flight, 0);
  EXPECT_EQ(stats.max_in_flight, 50) << "the server never saw the 50 greenlets' requests at once";
  std::printf("patch_all on: 50 curl_easy_perform in %.3f s, server saw at most %ld in flight\n", wall.count(),
              stats.max_in_flight);
}

TEST_F(CurlClients, WithoutPatchAllEasyPerformsRunOneAtATime) {
  start_server(200);
  std::vector<HttpResult> results;
  const auto wall = gs::test::elapsed([&] { results = run_curl_clients(server, 5); });

  ASSERT_EQ(results.size(), 5u);
  expect_all_ok(results);
  const HttpStats stats = server.stats();
  EXPECT_EQ(stats.requests, 5);
  EXPECT_EQ(stats.max_in_flight, 1) << "unpatched, a greenlet in curl_easy_perform blocks the whole thread";
  std::printf("patch_all off: 5 curl_easy_perform in %.3f s, server saw at most %ld in flight\n", wall.count(),
              stats.max_in_flight);
}

}  // namespace
}  // namespace gs::clients
