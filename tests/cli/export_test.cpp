// export_test.cpp: `greenscope export --format chrome` writes JSON that
// ui.perfetto.dev opens: validated by check_chrome.py (python3) for syntax,
// a named track per greenlet, strictly nested slices and well-formed flows.
#include <gtest/gtest.h>
#include <unistd.h>

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
TEST_F(ChromeExport, WindowKeepsOnlyThatTimeSpan) {
  const std::string json = dir_ + "/window.json";
  const RunResult r = greenscope({"export", trace_, "-o", json, "--from", "20", "--to", "30", "--quiet"});
  ASSERT_EQ(r.code, 0) << r.err;
  const RunResult checked = run_command({PYTHON3, "-c",
      "import json, sys\n"
      "ev = [e for e in json.load(open(sys.argv[1]))['traceEvents'] if e.get('ph') in ('X', 'i')]\n"
      "assert ev, 'no slices in the window'\n"
      "for e in ev:\n"
      "    assert e['ts'] >= 20000 - 1e-3 and e['ts'] + e.get('dur', 0) <= 30000 + 1e-3, e\n"
      "assert any(e.get('args', {}).get('clipped') for e in ev), 'spans crossing the edges are marked clipped'\n",
      json});
  EXPECT_EQ(checked.code, 0) << checked.out << checked.err;
  EXPECT_EQ(run_command({PYTHON3, CHECK_CHROME_PY, json}).code, 0) << "still strictly nested";
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
