// stalls_test.cpp: `greenscope stalls`, `stacks`, `export --format folded`
// and `info` on the synthetic 2.0 traces of synthetic_traces.h, whose every
// number is known.
#include <gtest/gtest.h>

#include <cstdlib>
#include <regex>

#include "cli_runner.h"
#include "synthetic_traces.h"

namespace gs::cli_test {
namespace {

class Stalls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { trace_ = new std::string(write_stall_trace()); }
  static void TearDownTestSuite() {
    std::remove(trace_->c_str());
    delete trace_;
  }
  static const std::string& trace() { return *trace_; }

 private:
  static std::string* trace_;
};

std::string* Stalls::trace_ = nullptr;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// section() is the text of group [n] of `stalls` output, up to the next one.
std::string section(const std::string& out, const std::string& start, const std::string& next) {
  const std::size_t begin = out.find(start);
  if (begin == std::string::npos) return "";
  const std::size_t end = out.find(next, begin + start.size());
  return out.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

TEST_F(Stalls, HeaderCountsEveryStallAndSaysHowToSeeMore) {
  const RunResult r = greenscope({"stalls", trace()});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string first = split_lines(r.out).at(0);
  EXPECT_EQ(first, "5 stalls, 675.0 ms in all, the longest 400.0 ms; 1 still going when the trace ended");
  EXPECT_TRUE(has(r.out, "greenscope stacks " + trace())) << r.out;
  EXPECT_TRUE(has(r.out, "greenscope export --format folded --of stalls " + trace())) << r.out;
  EXPECT_FALSE(has(r.out, "threshold")) << "the threshold is not recorded in the trace: not printed";
  EXPECT_FALSE(has(r.err, "warning")) << r.err;  // a clean trace: notes only (see below)
}

TEST_F(Stalls, GroupsByMostSampledStackSortedByTotal) {
  const RunResult r = greenscope({"stalls", trace()});
  ASSERT_EQ(r.code, 0) << r.err;
  // Stalls 1, 2 and 4 were mostly at spin (stall 2 under another id of the
  // same stack); 3 at write_all; 5 has no sample.
  const std::string g1 = section(r.out, "\n[1] ", "\n[2] ");
  EXPECT_TRUE(has(g1, "[1] 3 stalls, 650.0 ms in all, the longest 400.0 ms: 2 cpu-bound, 1 not known (no end recorded)"))
      << r.out;
  EXPECT_TRUE(has(g1, "culprits: worker-a#10 (2), worker-b#11 (1)")) << g1;
  EXPECT_TRUE(has(g1, "stack (16 of 18 samples):")) << g1;
  EXPECT_TRUE(std::regex_search(g1, std::regex("#0 spin \\(app.cpp:10\\)\\n\\s+#1 handle \\(app.cpp:20\\)\\n\\s+#2 "
                                               "main_loop \\(app.cpp:30\\)")))
      << g1;
  const std::string g2 = section(r.out, "\n[2] ", "\n[3] ");
  EXPECT_TRUE(has(g2, "[2] 1 stall, 20.0 ms in all, the longest 20.0 ms: 1 blocked in write")) << r.out;
  EXPECT_TRUE(has(g2, "culprits: a run_callback() callback (1)")) << g2;
  EXPECT_TRUE(has(g2, "#0 write_all<a;b> (io.cpp:5)")) << g2;
  // Syscalls by name (x86_64's table), not by number.
  EXPECT_TRUE(has(g2, "verdict: blocked in write\n")) << g2;
  EXPECT_FALSE(has(g2, "syscall 1")) << g2;
  // The summary line: the function the samples lead to.
  EXPECT_TRUE(has(g2, "  in write_all<a;b> (io.cpp:5) on 4 of 4 samples\n")) << g2;
  const std::string g3 = section(r.out, "\n[3] ", "\nBlocking calls");
  EXPECT_TRUE(has(g3, "[3] 1 stall, 5.00 ms in all")) << r.out;
  EXPECT_TRUE(has(g3, "culprits: the hub (1)")) << g3;
  EXPECT_TRUE(has(g3, "stack: (no stack sampled: the monitor took no sample)")) << g3;
  EXPECT_FALSE(has(r.out, "\n[4] "));
}

// stall_table() is group [1]'s table of stalls.
std::string stall_table(const std::string& out) {
  return section(section(out, "\n[1] ", "\n[2] "), "  stalls:\n", "\n[");
}

TEST_F(Stalls, AStallsOtherSampledStacksShowWhereTheRestOfItsTimeWent) {
  const RunResult r = greenscope({"stalls", trace()});
  const std::string g1 = section(r.out, "\n[1] ", "\n[2] ");
  EXPECT_TRUE(has(g1, "other stacks sampled in these stalls:\n    2 samples (11.1%):\n      #0 write_all<a;b>")) << g1;
  const std::string table = stall_table(r.out);
  const std::string header = row_starting(table, "id");
  // Stall 1 spent 2 of its 10 samples elsewhere; stall 2 none of its 5.
  const std::string row = row_starting(table, "1");
  EXPECT_EQ(cell(header, row, "samples"), "10 (2 elsewhere)") << table;
  EXPECT_EQ(cell(header, row, "cpu"), "95.0%") << table;  // 190 ms of CPU over 200
  EXPECT_TRUE(has(row, "worker-a#10")) << row;
  EXPECT_EQ(cell(header, row_starting(table, "2"), "samples"), "5") << table;
}

TEST_F(Stalls, AnUnfinishedStallIsMarkedAndCountsToTheEndOfTheTrace) {
  const RunResult r = greenscope({"stalls", trace()});
  const std::string row = row_starting(stall_table(r.out), "4");
  EXPECT_TRUE(has(row, "600.000000")) << row;
  EXPECT_TRUE(has(row, "400.0 ms")) << row;
  EXPECT_TRUE(has(row, "still going when the trace ended")) << row;
  // No end recorded: judged by its samples alone.
  EXPECT_TRUE(std::regex_search(row, std::regex("400.0 ms\\s+-\\s+3\\s+worker-a#10\\s+cpu-bound \\(by samples\\)"))) << row;
  EXPECT_FALSE(has(row_starting(stall_table(r.out), "1"), "still going"));
}

TEST_F(Stalls, MinKeepsOnlyLongerStalls) {
  const RunResult r = greenscope({"stalls", trace(), "--min", "30"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(split_lines(r.out).at(0),
            "3 stalls, 650.0 ms in all, the longest 400.0 ms; 1 still going when the trace ended (2 stalls shorter "
            "than 30 ms not shown)");
  EXPECT_TRUE(has(r.out, "[1] 3 stalls"));
  EXPECT_FALSE(has(r.out, "\n[2] "));
  EXPECT_TRUE(has(r.out, "Blocking calls")) << "--min applies to stalls only";
  const RunResult none = greenscope({"stalls", trace(), "--min", "1000"});
  ASSERT_EQ(none.code, 0) << none.err;
  EXPECT_EQ(split_lines(none.out).at(0), "no stalls of at least 1000 ms (5 stalls shorter; --min 0 lists them)");
  EXPECT_EQ(greenscope({"stalls", trace(), "--min", "0.5"}).code, 0);
}

TEST_F(Stalls, TopLimitsTheGroups) {
  const RunResult r = greenscope({"stalls", trace(), "--top", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "[1] 3 stalls"));
  EXPECT_FALSE(has(r.out, "\n[2] "));
  EXPECT_TRUE(has(r.out, "... and 2 more groups (--top 0 shows all)"));
}

TEST_F(Stalls, BlockingCallsLoopLagAndCrashesHaveTheirSections) {
  const RunResult r = greenscope({"stalls", trace()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "Blocking calls: 3 calls that blocked the thread under patch_all(), 10.0 ms in all")) << r.out;
  EXPECT_TRUE(has(r.out, "[1] fsync(): 2 calls, 8.00 ms in all, the longest 5.00 ms\n      #0 flush\n      #1 main_loop"))
      << r.out;
  EXPECT_TRUE(has(r.out, "[2] read(): 1 call, 2.00 ms in all, the longest 2.00 ms\n      #0 libc.so.6+0x1000")) << r.out;
  const std::string lag = section(r.out, "Loop lag", "\nCrash");
  const std::string header = row_starting(lag, "thread");
  const std::string row = row_starting(lag, "0");
  EXPECT_EQ(cell(header, row, "count"), "2") << lag;
  EXPECT_EQ(cell(header, row, "total"), "40.0 ms") << lag;
  EXPECT_EQ(cell(header, row, "max"), "25.0 ms") << lag;
  EXPECT_TRUE(has(r.out,
                  "Crash at 999.000000 ms: SIGSEGV at 0x0 in worker-a#10 (thread 0): STACK OVERFLOW (it ran into "
                  "its stack's guard page)\n    #0 spin (app.cpp:10)\n    #1 handle (app.cpp:20)"))
      << r.out;
  // read()'s stack is in a module whose file is not here: one note.
  EXPECT_TRUE(has(r.err, "greenscope: note: /nonexistent/libc.so.6")) << r.err;
  EXPECT_TRUE(greenscope({"stalls", trace(), "--quiet"}).err.empty());
}

TEST(StallsEmpty, NoStallsSaysSoPlainly) {
  const std::string v2 = write_quiet_trace(2);
  const RunResult r = greenscope({"stalls", v2});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("no stalls recorded: no hub thread was kept from its loop", 0), 0u) << r.out;
  EXPECT_FALSE(has(r.out, "Blocking calls"));
  const std::string v1 = write_quiet_trace(1);
  const RunResult old = greenscope({"stalls", v1, "--strict"});
  ASSERT_EQ(old.code, 0) << old.err;
  EXPECT_TRUE(has(old.out, "no stalls recorded: " + v1 + " was written in format 1.0")) << old.out;
  std::remove(v1.c_str());
  std::remove(v2.c_str());
}

TEST_F(Stalls, BadArgumentsExit2) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"stalls"},
           {"stalls", trace(), "extra"},
           {"stalls", trace(), "--min", "-1"},
           {"stalls", trace(), "--min", "soon"},
           {"stalls", trace(), "--min", "nan"},
           {"stalls", trace(), "--top", "x"},
           {"stalls", trace(), "--waits"},
           {"stacks", trace(), "--top", "3"},
           {"export", "--format", "folded", "--of", "everything", trace()},
           {"export", "--format", "chrome", "--of", "waits", trace()},
           {"export", "--format", "svg", trace()},
       }) {
    const RunResult r = greenscope(args);
    std::string line;
    for (const std::string& a : args) line += a + " ";
    EXPECT_EQ(r.code, 2) << line << "\n" << r.out << r.err;
    EXPECT_TRUE(has(r.err, "usage: greenscope")) << line << "\n" << r.err;
  }
  EXPECT_EQ(greenscope({"stalls", "/nonexistent.gstrace"}).code, 1);
}

TEST_F(Stalls, HelpForTheNewCommands) {
  for (const std::string command : {"stalls", "stacks"}) {
    const RunResult r = greenscope({command, "--help"});
    EXPECT_EQ(r.code, 0) << command;
    EXPECT_EQ(r.out.rfind("usage: greenscope " + command + " FILE", 0), 0u) << r.out;
  }
  const RunResult main = greenscope({"--help"});
  EXPECT_TRUE(has(main.out, "  stalls ")) << main.out;
  EXPECT_TRUE(has(main.out, "  stacks ")) << main.out;
  EXPECT_TRUE(has(greenscope({"export", "--help"}).out, "--format folded"));
}

// parse_folded() checks every line is "frame;...;frame N" and sums the
// weights by line.
std::map<std::string, long> parse_folded(const std::string& text) {
  std::map<std::string, long> lines;
  for (const std::string& line : split_lines(text)) {
    const std::size_t space = line.rfind(' ');
    EXPECT_NE(space, std::string::npos) << line;
    if (space == std::string::npos) continue;
    const std::string stack = line.substr(0, space), weight = line.substr(space + 1);
    EXPECT_TRUE(std::regex_match(weight, std::regex("[1-9][0-9]*"))) << line;
    EXPECT_FALSE(stack.empty()) << line;
    EXPECT_EQ(stack.find(";;"), std::string::npos) << "an empty frame: " << line;
    EXPECT_NE(stack.front(), ';') << line;
    EXPECT_NE(stack.back(), ';') << line;
    EXPECT_FALSE(lines.count(stack)) << "a stack twice: " << line;
    lines[stack] = std::atol(weight.c_str());
  }
  return lines;
}

long sum(const std::map<std::string, long>& lines) {
  long total = 0;
  for (const auto& [stack, weight] : lines) total += weight;
  return total;
}

TEST_F(Stalls, FoldedStallsWeighEachSampleByItsShareOfItsStall) {
  const RunResult r = greenscope({"export", "--format", "folded", trace(), "-o", "-"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto lines = parse_folded(r.out);
  // Stall 1: 200 ms over 10 samples (8 at spin, 2 at write_all); 2: 50 ms
  // over 5; 3: 20 ms over 4; 4: 400 ms (to the end) over 3; 5: 5 ms, no sample.
  const std::map<std::string, long> want = {
      {"main_loop;handle;spin", 160000 + 50000 + 400000},
      {"main_loop;handle;write_all<a:b>", 40000 + 20000},
      {"[no stack sampled]", 5000},
  };
  EXPECT_EQ(lines, want) << r.out;
  EXPECT_EQ(sum(lines), 675000);  // the stalls' total, in µs
}

TEST_F(Stalls, FoldedStallsInAWindowKeepTheSamplesTakenInIt) {
  const RunResult r = greenscope({"export", "--format", "folded", "--of", "stalls", trace(), "-o", "-", "--from",
                                  "100", "--to", "300"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::map<std::string, long> want = {{"main_loop;handle;spin", 160000},
                                            {"main_loop;handle;write_all<a:b>", 40000}};
  EXPECT_EQ(parse_folded(r.out), want) << r.out;
}

TEST_F(Stalls, FoldedWaitsWeighEachWaitByItsDuration) {
  const std::string out = make_temp_dir() + "/waits.folded";
  const RunResult r = greenscope({"export", "--format", "folded", "--of", "waits", trace(), "-o", out});
  ASSERT_EQ(r.code, 0) << r.err;
  // worker-a 11..31 and worker-b 21..41 at stack 3; inlined pop is a frame.
  const std::map<std::string, long> want = {{"main_loop;consume;pop_[i]", 40000}};
  EXPECT_EQ(parse_folded(read_file(out)), want) << read_file(out);
  EXPECT_TRUE(has(r.err, "3 waits recorded no stack")) << r.err;
  EXPECT_TRUE(has(r.err, "wrote " + out + ": 1 stack from 2 waits, 40.0 ms in all")) << r.err;
  const RunResult window = greenscope(
      {"export", "--format", "folded", "--of", "waits", trace(), "-o", "-", "--from", "25", "--to", "35", "-q"});
  EXPECT_EQ(parse_folded(window.out), (std::map<std::string, long>{{"main_loop;consume;pop_[i]", 6000 + 10000}}));
}

TEST_F(Stalls, FoldedDefaultOutputIsBesideTheTrace) {
  const std::string dir = make_temp_dir();
  const std::string copy = dir + "/run.gstrace";
  {
    const std::string bytes = read_file(trace());
    std::FILE* f = std::fopen(copy.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
  }
  ASSERT_EQ(greenscope({"export", "--format", "folded", copy, "-q"}).code, 0);
  EXPECT_EQ(sum(parse_folded(read_file(dir + "/run.stalls.folded"))), 675000);
  ASSERT_EQ(greenscope({"export", "--format", "folded", "--of", "waits", copy, "-q"}).code, 0);
  EXPECT_EQ(sum(parse_folded(read_file(dir + "/run.waits.folded"))), 40000);
}

TEST(StallsEmpty, FoldedOfATraceWithoutStallsIsEmptyWithAWarning) {
  const std::string v2 = write_quiet_trace(2);
  const RunResult r = greenscope({"export", "--format", "folded", v2, "-o", "-"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_TRUE(has(r.err, "nothing to fold: the trace holds no stalls")) << r.err;
  std::remove(v2.c_str());
}

TEST_F(Stalls, StacksPrintsTheRunInfoDumps) {
  const RunResult r = greenscope({"stacks", trace()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "2 run-info dumps in " + trace() +
                "\n\n=== dump 1 of 2 at 500.000000 ms (signal SIGUSR1) ===\nhub on thread 0:\n  worker-a#10 running\n"
                "\n=== dump 2 of 2 at 900.000000 ms (api) ===\nsecond dump\n");
  const std::string quiet = write_quiet_trace(2);
  const RunResult none = greenscope({"stacks", quiet});
  ASSERT_EQ(none.code, 0) << none.err;
  EXPECT_EQ(none.out.rfind("no run-info dumps recorded:", 0), 0u) << none.out;
  std::remove(quiet.c_str());
}

TEST_F(Stalls, StacksWaitsListsEachGreenletsWaitStacks) {
  const RunResult r = greenscope({"stacks", trace(), "--waits"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "Where greenlets waited, by stack: 2 greenlets, by total wait; 3 waits recorded no stack"))
      << r.out;
  EXPECT_TRUE(has(r.out, "\nworker-a#10: 1 wait, 20.0 ms in all, at 1 stack\n  1 wait, 20.0 ms in all, the longest "
                         "20.0 ms: queue: Queue.get() (1)\n      #0 pop (queue.h:7) [inlined]\n         consume "
                         "(app.cpp:40)\n      #1 main_loop (app.cpp:30)\n"))
      << r.out;
  EXPECT_TRUE(has(r.out, "\nworker-b#11: 1 wait, 20.0 ms")) << r.out;
  const RunResult none = greenscope({"stacks", "--waits", write_quiet_trace(2)});
  EXPECT_EQ(none.out.rfind("no wait stacks recorded", 0), 0u) << none.out;
}

TEST_F(Stalls, InfoCountsModulesStacksStallsAndDumps) {
  const RunResult r = greenscope({"info", trace()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "\nmodules    2\n")) << r.out;
  EXPECT_TRUE(has(r.out, "\nstacks     7 (6 addresses symbolized by the writer)\n")) << r.out;  // 6 + the crash's
  EXPECT_TRUE(has(r.out, "\nstalls     5 (1 still going when the trace ended): greenscope stalls lists them\n"))
      << r.out;
  EXPECT_TRUE(has(r.out, "\nrun-info   2 dumps: greenscope stacks prints them\n")) << r.out;
  EXPECT_TRUE(has(r.out, "\ncrashes    1")) << r.out;
  EXPECT_TRUE(has(r.out, "stall_sample")) << r.out;
  const RunResult old = greenscope({"info", write_quiet_trace(1)});
  EXPECT_FALSE(has(old.out, "modules")) << "a 1.x trace has none of it";
}

TEST_F(Stalls, DumpDescribesTheNewEvents) {
  const RunResult r = greenscope({"dump", trace(), "--type", "stall_begin,stall_end,crash,blocking_call,wait_stack"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "stall 1 began on thread 0 at 100.000000 ms (held by greenlet)")) << r.out;
  EXPECT_TRUE(has(r.out, "stall 3 ended at 520.000000 ms, blocked")) << r.out;
  EXPECT_TRUE(has(r.out, "blocking call fsync() fd 5 for 3.00 ms at stack 6")) << r.out;
  EXPECT_TRUE(has(r.out, "CRASH signal 11 at 0x0 in worker-a#10 (stack overflow)")) << r.out;
  EXPECT_TRUE(has(r.out, "wait stack 3")) << r.out;
  const RunResult samples = greenscope({"dump", trace(), "--type", "stall_sample"});
  ASSERT_EQ(samples.code, 0) << samples.err;
  EXPECT_TRUE(has(samples.out, "stall 3 sample: stack 2, in write() (syscall 1)")) << samples.out;
}

}  // namespace
}  // namespace gs::cli_test
