#include "process_info.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "chunk_file.h"
#include "clock.h"

namespace gs::trace::detail {

namespace tf = trace_format;

namespace {

std::string read_file(const char* path) {
  std::string out;
  if (std::FILE* f = std::fopen(path, "rb")) {
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    std::fclose(f);
  }
  return out;
}

std::string program_path() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string("?");
}

std::string host_name() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

}  // namespace

// measure_start_point() spins 2 ms to estimate the tick rate, so a trace
// cut short before its first Calibration chunk still has times in ns.
StartPoint measure_start_point() {
  init_clock();
  StartPoint p;
  timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  p.wall_ns = static_cast<std::int64_t>(wall.tv_sec) * 1000000000 + wall.tv_nsec;
  p.calibration = calibration_point();
  p.ticks_per_ns = measure_ticks_per_ns(2000000);
  return p;
}

// redacted() keeps argv[0] of NUL-separated `args` and empties the rest.
std::string redacted(const std::string& args) {
  const std::size_t first = args.find('\0');
  if (first == std::string::npos) return args;
  const auto others = static_cast<std::size_t>(std::count(args.begin() + static_cast<std::ptrdiff_t>(first), args.end(), '\0'));
  return args.substr(0, first) + std::string(others, '\0');
}

std::vector<std::uint8_t> process_payload(const StartPoint& start, bool redact) {
  PayloadBuilder b;
  tf::ProcessRecord r{};
  r.pid = static_cast<std::uint64_t>(::getpid());
  r.start_wall_ns = start.wall_ns;
  r.start_ticks = start.calibration.ticks;
  r.start_mono_ns = start.calibration.mono_ns;
  r.ticks_per_ns = start.ticks_per_ns;
  r.clock = static_cast<std::uint32_t>(clock_source());
  r.flags = redact ? tf::kProcessArgsRedacted : 0;
  b.record(r);
  b.string(program_path());
  std::string args = read_file("/proc/self/cmdline");  // NUL-separated already
  if (!args.empty() && args.back() == '\0') args.pop_back();
  b.string(redact ? redacted(args) : args);
  b.string(host_name());
  b.string(clock_source() == tf::ClockSource::Tsc ? "tsc" : "monotonic");
  return b.bytes();
}

}  // namespace gs::trace::detail
