// patch_clients_timing: wall times of the curl case for docs/benchmarks.md.
// N greenlets each do one blocking curl_easy_perform against
// slow_http_server.py (every response held --delay-ms), once with
// gs::patch_all() (the transfers overlap) and once without (one at a time).
// Prints both wall times and the server-observed max in flight.
//
//   patch_clients_timing [--requests 50] [--delay-ms 200]
#include <curl/curl.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

#include "client_support.h"
#include "greenscope/runtime.h"

namespace {

struct Run {
  double wall_s = 0;
  gs::clients::HttpStats stats;
  int failed = 0;
};

// run() starts a fresh server (so its max in flight is this run's) and times
// `requests` greenlets doing one transfer each.
Run run(const std::string& python3, int requests, int delay_ms, bool patch) {
  gs::clients::SlowHttpServer server;
  server.start(python3, GS_SLOW_HTTP_SERVER_PY, delay_ms);
  if (patch) gs::patch_all();
  const auto start = std::chrono::steady_clock::now();
  const auto results = gs::clients::run_curl_clients(server, requests);
  Run r;
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  gs::unpatch_all();
  for (const auto& h : results) r.failed += (h.curl_code != CURLE_OK || h.status != 200) ? 1 : 0;
  r.stats = server.stats();
  server.stop();
  return r;
}

void print(const char* label, int requests, const Run& r) {
  std::printf("  %-14s %3d requests: wall %7.3f s, server max in flight %3ld, served %3ld, failed %d\n", label,
              requests, r.wall_s, r.stats.max_in_flight, r.stats.requests, r.failed);
}

}  // namespace

int main(int argc, char** argv) {
  int requests = 50;
  int delay_ms = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--requests") == 0) requests = std::atoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--delay-ms") == 0) delay_ms = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: %s [--requests N] [--delay-ms N]\n", argv[0]);
      return 2;
    }
  }
  if (argc % 2 == 0 || requests < 1 || delay_ms < 0) {
    std::fprintf(stderr, "usage: %s [--requests N>=1] [--delay-ms N>=0]\n", argv[0]);
    return 2;
  }
  const auto python3 = gs::clients::find_executable("python3");
  if (!python3) {
    std::fprintf(stderr, "patch_clients_timing: python3 not found (scripts/install-deps.sh installs it)\n");
    return 1;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  try {
    std::printf("patch_clients_timing: %d greenlets, one blocking curl_easy_perform each; the server "
                "(slow_http_server.py, own process) holds every response %d ms\n",
                requests, delay_ms);
    const Run on = run(*python3, requests, delay_ms, true);
    print("patch_all on", requests, on);
    const Run off = run(*python3, requests, delay_ms, false);
    print("patch_all off", requests, off);
    std::printf("  speed-up %.1fx\n", off.wall_s / on.wall_s);
    curl_global_cleanup();
    return on.failed == 0 && off.failed == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "patch_clients_timing: %s\n", e.what());
    return 1;
  }
}
