// read_test.cpp: info, report and dump on a trace that photo_pipeline
// records once for the suite. Nothing here asserts on timing: only counts,
// names, that times are positive, and that filters hold.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>

#include "cli_runner.h"

namespace gs::cli_test {
namespace {

class TraceRead : public ::testing::Test {
 protected:
  // 8 users (user-7 is the slow one a gs::Timeout cuts off), a saver, main
  // and the hub: 11 greenlets.
  static void SetUpTestSuite() {
    dir_ = new std::string(make_temp_dir());
    trace_ = new std::string(*dir_ + "/photos.gstrace");
    const RunResult r = record_example(*trace_, {"--users", "8", "--latency-ms", "20"});
    // 1: a user besides user-7 timed out on a very loaded machine; the
    // trace is as good.
    ASSERT_TRUE(r.code == 0 || r.code == 1) << r.err;
  }
  static void TearDownTestSuite() {
    delete trace_;
    delete dir_;
  }
  static const std::string& trace() { return *trace_; }

 private:
  static std::string* dir_;
  static std::string* trace_;
};

std::string* TraceRead::dir_ = nullptr;
std::string* TraceRead::trace_ = nullptr;

// count_in() reads "<label> <number>" from info's output.
long count_in(const std::string& text, const std::string& label) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex("\\n\\s*" + label + "\\s+([0-9]+)"))) return -1;
  return std::stol(m[1]);
}

TEST_F(TraceRead, InfoShowsProcessThreadsAndCounts) {
  const RunResult r = greenscope({"info", trace()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("photo_pipeline"), std::string::npos);
  // One hub thread; since format 2.0 also the stall monitor's thread, once
  // it records a stall (photo_pipeline's thumbnails are CPU-bound).
  const long threads = count_in("\n" + r.out, "threads");
  EXPECT_TRUE(threads == 1 || threads == 2) << r.out;
  long hubs = 0;
  for (const std::string& line : split_lines(r.out)) hubs += line.find(" hub#") != std::string::npos;
  EXPECT_EQ(hubs, 1) << r.out;
  EXPECT_EQ(count_in("\n" + r.out, "greenlets"), 11);
  EXPECT_EQ(count_in("\n" + r.out, "dropped"), 0);
  EXPECT_EQ(count_in("\n" + r.out, "problems"), 0);
  EXPECT_NE(r.out.find("end        clean"), std::string::npos);
  EXPECT_NE(r.out.find("clock      "), std::string::npos);
  EXPECT_TRUE(std::regex_search(r.out, std::regex("started\\s+\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}Z")));
  EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST_F(TraceRead, InfoCountsAgreeWithDump) {
  const RunResult info = greenscope({"info", trace()});
  const RunResult switches = greenscope({"dump", trace(), "--type", "switch"});
  const RunResult all = greenscope({"dump", trace()});
  ASSERT_EQ(switches.code, 0) << switches.err;
  const long dumped_switches = static_cast<long>(split_lines(switches.out).size()) - 1;  // minus the header
  EXPECT_GT(dumped_switches, 0);
  EXPECT_EQ(count_in("\n" + info.out, "switch"), dumped_switches);
  EXPECT_EQ(count_in("\n" + info.out, "events"), static_cast<long>(split_lines(all.out).size()) - 1);
  EXPECT_EQ(count_in("\n" + info.out, "spawn"), 9);  // saver and 8 users
}

TEST_F(TraceRead, ReportListsNamedGreenletsWithRunningTimeAndWaits) {
  const RunResult r = greenscope({"report", trace(), "--top", "0"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string header = row_starting(r.out, "name");
  ASSERT_FALSE(header.empty()) << r.out;
  for (const std::string name : {"saver", "user-0", "user-3", "user-7", "main", "hub"}) {
    const std::string row = row_starting(r.out, name);
    ASSERT_FALSE(row.empty()) << name << " missing in\n" << r.out;
    EXPECT_GT(duration_ns(cell(header, row, "running")), 0) << row;
    EXPECT_GE(std::atoi(cell(header, row, "runs").c_str()), 1) << row;
  }
  // The users sleep (simulated round trips); the saver waits on its queue.
  EXPECT_GT(duration_ns(cell(header, row_starting(r.out, "user-0"), "sleep")), 0);
  EXPECT_GT(duration_ns(cell(header, row_starting(r.out, "saver"), "queue")), 0);
  EXPECT_NE(row_starting(r.out, "user-0").find("main#1"), std::string::npos);  // its spawner
  EXPECT_EQ(row_starting(r.out, "user-0").find("alive"), std::string::npos);  // it ended
  EXPECT_NE(row_starting(r.out, "user-7").find("failed"), std::string::npos);
  EXPECT_NE(r.out.find("failed: user-7#"), std::string::npos);
  EXPECT_NE(r.out.find("Hub loops"), std::string::npos);
  EXPECT_NE(r.out.find("Hub callbacks"), std::string::npos);
  EXPECT_FALSE(row_starting(r.out, "timer").empty()) << r.out;
}

TEST_F(TraceRead, ReportTopAndSortAndThread) {
  const RunResult r = greenscope({"report", trace(), "--top", "3", "--sort", "waiting"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("Greenlets: 11, by waiting time (top 3"), std::string::npos) << r.out;
  EXPECT_EQ(greenscope({"report", trace(), "--thread", "0"}).code, 0);
  const RunResult missing = greenscope({"report", trace(), "--thread", "7"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("no thread 7"), std::string::npos);
  EXPECT_EQ(greenscope({"report", trace(), "--sort", "fastest"}).code, 2);
  EXPECT_EQ(greenscope({"report", trace(), "--top", "many"}).code, 2);
}

TEST_F(TraceRead, DumpFiltersByGreenletNameAndId) {
  const RunResult by_name = greenscope({"dump", trace(), "--greenlet", "saver"});
  ASSERT_EQ(by_name.code, 0) << by_name.err;
  const auto lines = split_lines(by_name.out);
  ASSERT_GT(lines.size(), 3u);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(by_name.out, m, std::regex("saver#([0-9]+)")));
  const std::string id = m[1];
  for (std::size_t i = 1; i < lines.size(); ++i)  // run by it, or naming it ("rename #3 to 'saver'")
    EXPECT_TRUE(std::regex_search(lines[i], std::regex("#" + id + "\\b"))) << lines[i];
  EXPECT_EQ(greenscope({"dump", trace(), "--greenlet", id}).out, by_name.out);
  const RunResult nobody = greenscope({"dump", trace(), "--greenlet", "nobody"});
  EXPECT_EQ(nobody.code, 1);
  EXPECT_NE(nobody.err.find("no greenlet named 'nobody'"), std::string::npos);
}

TEST_F(TraceRead, DumpFiltersByTypeAndTimeInOrder) {
  const RunResult all = greenscope({"dump", trace(), "--type", "switch,poll"});
  ASSERT_EQ(all.code, 0) << all.err;
  const auto every = split_lines(all.out);
  ASSERT_GT(every.size(), 20u);
  double last = 0;
  for (std::size_t i = 1; i < every.size(); ++i) {
    const double ms = std::atof(every[i].c_str());
    EXPECT_GE(ms, last) << "out of order: " << every[i];
    last = ms;
    const bool wanted = every[i].find(" switch ") != std::string::npos || every[i].find(" poll ") != std::string::npos;
    EXPECT_TRUE(wanted) << every[i];
  }
  EXPECT_NE(all.out.find("(sleep: gs::sleep())"), std::string::npos);
  // A window from the 1/4 to the 3/4 event keeps exactly the lines inside it.
  const std::string from = every[every.size() / 4].substr(0, 14), to = every[every.size() * 3 / 4].substr(0, 14);
  const RunResult window = greenscope({"dump", trace(), "--type", "switch,poll", "--from", from, "--to", to});
  std::vector<std::string> expected = {every[0]};
  for (std::size_t i = 1; i < every.size(); ++i)
    if (std::atof(every[i].c_str()) >= std::atof(from.c_str()) && std::atof(every[i].c_str()) <= std::atof(to.c_str()))
      expected.push_back(every[i]);
  EXPECT_EQ(split_lines(window.out), expected);
  EXPECT_LT(expected.size(), every.size());
}

TEST_F(TraceRead, DumpRejectsBadFilters) {
  const RunResult type = greenscope({"dump", trace(), "--type", "teleport"});
  EXPECT_EQ(type.code, 2);
  EXPECT_NE(type.err.find("unknown event type 'teleport'"), std::string::npos);
  EXPECT_EQ(greenscope({"dump", trace(), "--from", "soon"}).code, 2);
  EXPECT_EQ(greenscope({"dump", trace(), "--thread", "3"}).code, 1);
}

TEST_F(TraceRead, TruncatedTraceWarnsAndStrictFails) {
  const std::string bytes = read_file(trace());
  const std::string cut = make_temp_dir() + "/cut.gstrace";
  std::ofstream(cut, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() * 2 / 3));
  const RunResult r = greenscope({"info", cut});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("warning"), std::string::npos);
  EXPECT_NE(r.out.find("NOT CLEAN"), std::string::npos);
  EXPECT_EQ(greenscope({"report", cut}).code, 0);
  EXPECT_EQ(greenscope({"info", "--strict", cut}).code, 1);
}

}  // namespace
}  // namespace gs::cli_test
