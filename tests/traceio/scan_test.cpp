// scan_test.cpp: scan() gives what load() gives (tables, problems, each
// thread's events in order) for the sample traces and for cut, damaged and
// out-of-order files, while keeping no events itself.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "trace_builder.h"

namespace gs::test {
namespace {

using namespace gs::traceio;
using tf::Reason;
using tf::Tag;

// Collector keeps what a scan hands out, checking the order it promises.
class Collector final : public EventSink {
 public:
  std::map<std::uint32_t, std::vector<Event>> got;
  std::vector<std::uint32_t> threads_begun;
  bool started = false;
  std::size_t tables_events = 0;

  void start(const Trace& tables) override {
    started = true;
    tables_events = tables.event_count();
  }
  void begin_thread(const ThreadInfo& thread) override {
    EXPECT_TRUE(started);
    EXPECT_TRUE(threads_begun.empty() || threads_begun.back() < thread.index) << "threads in index order";
    threads_begun.push_back(thread.index);
    current_ = thread.index;
  }
  void events_of(const ThreadInfo& thread, std::span<const Event> list) {
    EXPECT_EQ(thread.index, current_);
    auto& out = got[thread.index];
    out.insert(out.end(), list.begin(), list.end());
  }
  void events(const ThreadInfo& thread, std::span<const Event> list) override { events_of(thread, list); }
  void end_thread(const ThreadInfo& thread) override { EXPECT_EQ(thread.index, current_); }

 private:
  std::uint32_t current_ = UINT32_MAX;
};

void expect_same_event(const Event& x, const Event& y, const std::string& where) {
  EXPECT_EQ(x.time_ns, y.time_ns) << where;
  EXPECT_EQ(x.a, y.a) << where;
  EXPECT_EQ(x.b, y.b) << where;
  EXPECT_EQ(x.c, y.c) << where;
  EXPECT_EQ(x.str, y.str) << where;
  EXPECT_EQ(x.d, y.d) << where;
  EXPECT_EQ(x.type, y.type) << where;
  EXPECT_EQ(x.code, y.code) << where;
  EXPECT_EQ(x.greenlet, y.greenlet) << where;
}

void expect_same_tables(const Trace& loaded, const Trace& scanned) {
  EXPECT_EQ(scanned.event_count(), 0u);
  EXPECT_EQ(loaded.begin_ns(), scanned.begin_ns());
  EXPECT_EQ(loaded.end_ns(), scanned.end_ns());
  EXPECT_EQ(command_line(loaded.process()), command_line(scanned.process()));
  EXPECT_EQ(loaded.process().calibrations, scanned.process().calibrations);
  EXPECT_EQ(loaded.process().ticks_per_ns, scanned.process().ticks_per_ns);
  ASSERT_EQ(loaded.problems().size(), scanned.problems().size());
  for (std::size_t i = 0; i < loaded.problems().size(); ++i) {
    EXPECT_EQ(loaded.problems()[i].offset, scanned.problems()[i].offset);
    EXPECT_EQ(loaded.problems()[i].message, scanned.problems()[i].message);
  }
  const FileStats &x = loaded.stats(), &y = scanned.stats();
  EXPECT_EQ(x.chunks, y.chunks);
  EXPECT_EQ(x.events, y.events);
  EXPECT_EQ(x.event_bytes, y.event_bytes);
  EXPECT_EQ(x.dropped, y.dropped);
  EXPECT_EQ(x.clean_end, y.clean_end);
  for (std::size_t i = 0; i < kEventTypeCount; ++i) EXPECT_EQ(x.count[i], y.count[i]) << i;
  ASSERT_EQ(loaded.threads().size(), scanned.threads().size());
  for (std::size_t i = 0; i < loaded.threads().size(); ++i) {
    const ThreadInfo &a = loaded.threads()[i], &b = scanned.threads()[i];
    EXPECT_EQ(a.index, b.index);
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.has_hub, b.has_hub);
    EXPECT_EQ(a.hub_greenlet, b.hub_greenlet);
    EXPECT_EQ(a.main_greenlet, b.main_greenlet);
    EXPECT_EQ(a.events.size(), b.event_total);
    EXPECT_EQ(a.event_total, b.event_total);
  }
  ASSERT_EQ(loaded.greenlets().size(), scanned.greenlets().size());
  for (const auto& [id, g] : loaded.greenlets()) {
    const GreenletInfo& h = scanned.greenlets().at(id);
    EXPECT_EQ(g.name, h.name);
    EXPECT_EQ(g.spawner, h.spawner);
    EXPECT_EQ(g.thread, h.thread);
    EXPECT_EQ(g.spawn_ns, h.spawn_ns);
    EXPECT_EQ(g.exit_ns, h.exit_ns);
    EXPECT_EQ(g.exit_kind, h.exit_kind);
    EXPECT_EQ(g.error, h.error);
  }
  ASSERT_EQ(loaded.stalls().size(), scanned.stalls().size());
  for (std::size_t i = 0; i < loaded.stalls().size(); ++i) {
    const StallInfo &a = loaded.stalls()[i], &b = scanned.stalls()[i];
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.start_ns, b.start_ns);
    EXPECT_EQ(a.end_ns, b.end_ns);
    EXPECT_EQ(a.duration_ns, b.duration_ns);
    EXPECT_EQ(a.samples.size(), b.samples.size());
  }
  ASSERT_EQ(loaded.crashes().size(), scanned.crashes().size());
  for (std::size_t i = 0; i < loaded.crashes().size(); ++i) EXPECT_EQ(loaded.crashes()[i].stack, scanned.crashes()[i].stack);
  ASSERT_EQ(loaded.run_infos().size(), scanned.run_infos().size());
  for (std::size_t i = 0; i < loaded.run_infos().size(); ++i)
    EXPECT_EQ(loaded.run_infos()[i].time_ns, scanned.run_infos()[i].time_ns);
  EXPECT_EQ(loaded.stacks(), scanned.stacks());
  EXPECT_EQ(loaded.modules().size(), scanned.modules().size());
  EXPECT_EQ(loaded.symbol_count(), scanned.symbol_count());
}

// expect_scan_matches_load() scans and loads `path` and compares all of it.
void expect_scan_matches_load(const std::string& path) {
  SCOPED_TRACE(path);
  LoadResult loaded = load(path, {.progress = {}, .decode_threads = 1});
  LoadResult tables = scan(path);
  Collector sink;
  LoadResult scanned = scan(path, {}, &sink);
  ASSERT_EQ(loaded.trace == nullptr, scanned.trace == nullptr);
  EXPECT_EQ(loaded.error, scanned.error);
  EXPECT_EQ(loaded.error, tables.error);
  if (!loaded.trace) return;
  expect_same_tables(*loaded.trace, *tables.trace);
  expect_same_tables(*loaded.trace, *scanned.trace);
  EXPECT_EQ(sink.tables_events, 0u);
  ASSERT_EQ(sink.threads_begun.size(), loaded.trace->threads().size());
  for (const ThreadInfo& t : loaded.trace->threads()) {
    const std::vector<Event>& got = sink.got[t.index];
    ASSERT_EQ(t.events.size(), got.size()) << "thread " << t.index;
    for (std::size_t i = 0; i < got.size(); ++i) {
      expect_same_event(t.events[i], got[i], "thread " + std::to_string(t.index) + " event " + std::to_string(i));
      EXPECT_EQ(loaded.trace->text(t.events[i].str), scanned.trace->text(got[i].str));
      if (::testing::Test::HasFailure()) return;  // one difference is enough to read
    }
  }
}

// TempTrace is a trace file written for one test.
struct TempTrace {
  std::string path;
  explicit TempTrace(const Bytes& bytes, const std::string& name) {
    path = (std::filesystem::temp_directory_path() / ("gs-scan-" + std::to_string(::getpid()) + "-" + name)).string();
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                static_cast<std::streamsize>(bytes.size()));
  }
  ~TempTrace() { std::remove(path.c_str()); }
};

Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> sample_traces() {
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::directory_iterator(GS_TRACES_DIR))
    if (entry.path().extension() == ".gstrace") paths.push_back(entry.path().string());
  std::sort(paths.begin(), paths.end());
  return paths;
}

TEST(Scan, SampleTracesGiveWhatLoadGives) {
  const auto paths = sample_traces();
  ASSERT_GE(paths.size(), 5u);
  for (const std::string& path : paths) expect_scan_matches_load(path);
}

TEST(Scan, CutTracesGiveWhatLoadGives) {
  for (const std::string& path : sample_traces()) {
    const Bytes whole = read_bytes(path);
    for (const double fraction : {0.0, 0.01, 0.3, 0.5, 0.77, 0.999}) {
      Bytes cut(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(whole.size() * fraction));
      const TempTrace t(cut, "cut.gstrace");
      expect_scan_matches_load(t.path);
    }
  }
}

TEST(Scan, DamagedTracesGiveWhatLoadGives) {
  std::mt19937 random(7);
  for (const std::string& path : sample_traces()) {
    Bytes bytes = read_bytes(path);
    for (int round = 0; round < 4; ++round) {
      for (int k = 0; k < 8; ++k) bytes[64 + random() % (bytes.size() - 64)] ^= static_cast<std::uint8_t>(1 + random() % 255);
      const TempTrace t(bytes, "damaged.gstrace");
      expect_scan_matches_load(t.path);
    }
  }
}

// Garbage longer than the walk's read window, with sync words in it and
// one across a window boundary, makes the resync read window after window.
TEST(Scan, DamageLongerThanTheReadWindowGivesWhatLoadGives) {
  const Bytes sample = read_bytes(std::string(GS_TRACES_DIR) + "/echo-load.gstrace");
  const std::size_t half = sample.size() / 2;
  Bytes bytes(sample.begin(), sample.begin() + static_cast<std::ptrdiff_t>(half));
  std::mt19937 random(11);
  const std::size_t garbage = 9u << 20;
  for (std::size_t i = 0; i < garbage; ++i) bytes.push_back(static_cast<std::uint8_t>(random()));
  for (const std::size_t at : {std::size_t{1} << 20, (std::size_t{4} << 20) - 2, std::size_t{8} << 20}) {
    const char sync[4] = {'G', 'S', 'C', 'K'};
    std::copy(sync, sync + 4, bytes.begin() + static_cast<std::ptrdiff_t>(half + at));
  }
  bytes.insert(bytes.end(), sample.begin() + static_cast<std::ptrdiff_t>(half), sample.end());
  const TempTrace t(bytes, "garbage.gstrace");
  expect_scan_matches_load(t.path);
}

BlockWriter block(std::uint64_t ticks, int n) {
  BlockWriter w(ticks, 1, 2, 0);
  w.event(Tag::HubStart, 0).varint(2).varint(1);
  for (int i = 1; i < n; ++i) {
    if (i % 2) {
      w.suspend(Reason::Io, 5).varint(7).varint(3).varint(1);
    } else {
      w.resume(Reason::Resume, 5).zz(1);
    }
  }
  return w;
}

// A thread whose second block is earlier than its first: load() sorts the
// thread, so scan() must hold it whole and sort it too.
TEST(Scan, AThreadOutOfTimeOrderIsSortedAsLoadSortsIt) {
  TraceBuilder b;
  b.process();
  b.thread(0, "main");
  b.strings({{7, "recv"}});
  b.events(0, 0, block(kStartTicks + 5000, 5));
  b.events(0, 1, block(kStartTicks + 100, 4));
  b.thread(1, "pool");
  b.events(1, 0, block(kStartTicks + 50, 3));
  b.end(12, 0);
  const TempTrace t(b.bytes(), "unsorted.gstrace");
  expect_scan_matches_load(t.path);
}

TEST(Scan, ErrorsAreLoadsErrors) {
  expect_scan_matches_load("/nonexistent/x.gstrace");
  expect_scan_matches_load(GS_TRACES_DIR);
  const TempTrace empty(Bytes{}, "empty.gstrace");
  expect_scan_matches_load(empty.path);
  const TempTrace junk(Bytes(100, 'x'), "junk.gstrace");
  expect_scan_matches_load(junk.path);
}

}  // namespace
}  // namespace gs::test
