// curl_clients_test.cpp: libcurl's blocking easy API (curl_easy_perform),
// one transfer per greenlet, against slow_http_server.py in its own process.
// The server holds every response for 200 ms and counts the requests it
// serves at once: that count, not a clock, says whether the greenlets'
// transfers overlapped.
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
    server.start(*python3, GS_SLOW_HTTP_SERVER_PY, 200);
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
};

TEST_F(CurlClients, FiftyEasyPerformsAreInFlightTogetherUnderPatchAll) {
  gs::patch_all();
  std::vector<HttpResult> results;
  const auto wall = gs::test::elapsed([&] { results = run_curl_clients(server, 50); });
  gs::unpatch_all();

  ASSERT_EQ(results.size(), 50u);
  expect_all_ok(results);
  const HttpStats stats = server.stats();
  EXPECT_EQ(stats.requests, 50);
  EXPECT_EQ(stats.in_flight, 0);
  EXPECT_GE(stats.max_in_flight, 40) << "the server never saw 40 of the 50 greenlets' requests at once";
  std::printf("patch_all on: 50 curl_easy_perform in %.3f s, server saw at most %ld in flight\n", wall.count(),
              stats.max_in_flight);
}

TEST_F(CurlClients, WithoutPatchAllEasyPerformsRunOneAtATime) {
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
