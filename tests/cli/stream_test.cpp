// stream_test.cpp: the commands that read a trace through traceio::scan()
// (info, stalls, report) print byte for byte what they print when the whole
// trace is load()ed (GREENSCOPE_READ_WHOLE=1, the reader they used before),
// for the sample traces, the synthetic ones, and cut and damaged copies.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "cli_runner.h"
#include "synthetic_traces.h"

namespace gs::cli_test {
namespace {

const std::vector<std::vector<std::string>> kCommands = {
    {"info"},
    {"stalls"},
    {"stalls", "--min", "1", "--top", "0"},
    {"report"},
    {"report", "--top", "0", "--sort", "waiting"},
    {"report", "--thread", "0"},
    {"report", "--thread", "7"},
    {"info", "--strict"},
    {"export", "--format", "perfetto", "--uncompressed", "-o", "-"},
};

void expect_same_both_ways(const std::string& path) {
  for (const auto& command : kCommands) {
    std::vector<std::string> argv = {GREENSCOPE_CLI};
    argv.insert(argv.end(), command.begin(), command.end());
    argv.push_back(path);
    const RunResult scanned = run_command(argv);
    const RunResult loaded = run_command(argv, {{"GREENSCOPE_READ_WHOLE", "1"}});
    const std::string what = command[0] + (command.size() > 1 ? " " + command[1] : "") + " " + path;
    EXPECT_EQ(loaded.code, scanned.code) << what;
    EXPECT_EQ(loaded.out, scanned.out) << what;
    EXPECT_EQ(loaded.err, scanned.err) << what;
  }
}

std::vector<std::string> sample_traces() {
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::directory_iterator(GS_TRACES_DIR))
    if (entry.path().extension() == ".gstrace") paths.push_back(entry.path().string());
  std::sort(paths.begin(), paths.end());
  paths.push_back(write_stall_trace());
  paths.push_back(write_quiet_trace(1));
  paths.push_back(write_quiet_trace(2));
  return paths;
}

std::string write(const std::string& dir, const std::string& name, const std::string& bytes) {
  const std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

TEST(Streaming, CommandsPrintWhatTheWholeLoadPrints) {
  for (const std::string& path : sample_traces()) expect_same_both_ways(path);
}

TEST(Streaming, CutAndDamagedTracesPrintWhatTheWholeLoadPrints) {
  const std::string dir = make_temp_dir();
  std::mt19937 random(3);
  for (const std::string& path : sample_traces()) {
    const std::string whole = read_file(path);
    const std::string name = std::filesystem::path(path).filename().string();
    expect_same_both_ways(write(dir, "cut-" + name, whole.substr(0, whole.size() * 2 / 3)));
    std::string damaged = whole;
    for (int k = 0; k < 6 && damaged.size() > 64; ++k)
      damaged[64 + random() % (damaged.size() - 64)] ^= static_cast<char>(1 + random() % 255);
    expect_same_both_ways(write(dir, "damaged-" + name, damaged));
  }
}

}  // namespace
}  // namespace gs::cli_test
