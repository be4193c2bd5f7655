// export_test.cpp: `greenscope export --format chrome` writes JSON that
// ui.perfetto.dev opens: validated by check_chrome.py (python3) for syntax,
// a named track per greenlet, strictly nested slices and well-formed flows.
#include <gtest/gtest.h>
#include <unistd.h>

#include <sstream>
#include <string>

#include "cli_runner.h"

namespace gs::cli_test {
namespace {

class ChromeExport : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(PYTHON3, X_OK) != 0) GTEST_SKIP() << "python3 not found at configure time";
    dir_ = make_temp_dir();
    trace_ = dir_ + "/photos.gstrace";
    const RunResult r = record_example(trace_, {"--users", "8", "--latency-ms", "20"});
    ASSERT_TRUE(r.code == 0 || r.code == 1) << r.err;  // 1: more users timed out (a loaded machine)
  }
  RunResult check(const std::string& json) {
    return run_command({PYTHON3, CHECK_CHROME_PY, json, "hub", "main", "saver", "user-0", "user-7"});
  }
  std::string dir_, trace_;
};

TEST_F(ChromeExport, IsValidJsonWithATrackPerGreenletAndNestedSlices) {
  const std::string json = dir_ + "/out.json";
  const RunResult r = greenscope({"export", "--format", "chrome", trace_, "-o", json});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("wrote " + json), std::string::npos) << r.err;
  const RunResult checked = check(json);
  EXPECT_EQ(checked.code, 0) << checked.out << checked.err;
}

TEST_F(ChromeExport, DefaultOutputIsBesideTheTrace) {
  const RunResult r = greenscope({"export", trace_, "--quiet"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  EXPECT_EQ(check(dir_ + "/photos.json").code, 0);
}

TEST_F(ChromeExport, WritesToStdout) {
  const RunResult r = greenscope({"export", trace_, "-o", "-"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("{\"traceEvents\":[", 0), 0u);
  EXPECT_NE(r.out.find("\"name\":\"thread_name\""), std::string::npos);
  EXPECT_NE(r.out.find("\"name\":\"running\""), std::string::npos);
  EXPECT_NE(r.out.find("\"name\":\"sleep\""), std::string::npos);  // a wait, named by its reason
  EXPECT_NE(r.out.find("\"flow_out\":true"), std::string::npos);
}

// A window keeps only what overlaps it, cut at its edges, still nested.
// The window is the middle half of the hub's longest poll, found in a full
// export: a window guessed in wall-clock milliseconds may hold nothing when
// the program ran slower (TSan) or started later, and this one always holds
// that poll, cut at both edges (check_chrome.py wants a hub track with poll
// slices; the longest slice of all may be a stall, in which the hub never
// polls).
TEST_F(ChromeExport, WindowKeepsOnlyThatTimeSpan) {
  const std::string full = dir_ + "/full.json";
  ASSERT_EQ(greenscope({"export", trace_, "-o", full, "--quiet"}).code, 0);
  const RunResult picked = run_command({PYTHON3, "-c",
      "import json, sys\n"
      "ev = [e for e in json.load(open(sys.argv[1]))['traceEvents'] if e.get('ph') == 'X' and e['name'] == 'poll']\n"
      "e = max(ev, key=lambda e: e['dur'])\n"
      "print('%.6f %.6f' % ((e['ts'] + e['dur'] / 4) / 1000, (e['ts'] + 3 * e['dur'] / 4) / 1000))\n",
      full});
  ASSERT_EQ(picked.code, 0) << picked.err;
  std::istringstream words(picked.out);
  std::string from, to;
  ASSERT_TRUE(words >> from >> to) << picked.out;

  const std::string json = dir_ + "/window.json";
  const RunResult r = greenscope({"export", trace_, "-o", json, "--from", from, "--to", to, "--quiet"});
  ASSERT_EQ(r.code, 0) << r.err;
  const RunResult checked = run_command({PYTHON3, "-c",
      "import json, sys\n"
      "lo, hi = float(sys.argv[2]) * 1000, float(sys.argv[3]) * 1000\n"
      "ev = [e for e in json.load(open(sys.argv[1]))['traceEvents'] if e.get('ph') in ('X', 'i')]\n"
      "assert ev, 'no slices in the window'\n"
      "for e in ev:\n"
      "    assert e['ts'] >= lo - 1e-3 and e['ts'] + e.get('dur', 0) <= hi + 1e-3, e\n"
      "assert any(e.get('args', {}).get('clipped') for e in ev), 'spans crossing the edges are marked clipped'\n",
      json, from, to});
  EXPECT_EQ(checked.code, 0) << checked.out << checked.err;
  const RunResult nested = run_command({PYTHON3, CHECK_CHROME_PY, json});
  EXPECT_EQ(nested.code, 0) << "still strictly nested, window " << from << " to " << to << " ms:\n"
                            << nested.out << nested.err;
  EXPECT_EQ(greenscope({"export", trace_, "--from", "30", "--to", "20"}).code, 2);
}

TEST_F(ChromeExport, RejectsUnknownFormatAndUnwritableOutput) {
  EXPECT_EQ(greenscope({"export", "--format", "svg", trace_}).code, 2);
  const RunResult r = greenscope({"export", trace_, "-o", "/no/such/dir/out.json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("cannot create '/no/such/dir/out.json'"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace gs::cli_test
