// model_follow_test.cpp: Follow (model.h) and traceio::Follower on the
// sample traces recorded by the real runtime, written into a file a piece at
// a time as a running program would: the model followed to the end is what
// Model::load() makes of the finished file, and at any chunk boundary on the
// way what it makes of the file cut there.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "greenscope/analysis/model.h"
#include "greenscope/runtime.h"
#include "greenscope/tracer.h"
#include "greenscope/trace_format.h"
#include "greenscope/traceio.h"
#include "model_test_support.h"

namespace gs::test {
namespace {

namespace tf = trace_format;
using analysis::Model;
using analysis::SpanColumns;
using analysis::Track;

std::string sample(const std::string& name) { return std::string(TRACES_DIR) + "/" + name; }

std::string temp_path(const std::string& tag) {
  return ::testing::TempDir() + "follow-" + tag + "-" + std::to_string(::getpid()) + ".gstrace";
}

// ChunkAt is one chunk of a trace file: where it begins and ends, its type.
struct ChunkAt {
  std::size_t begin = 0, end = 0;
  std::uint16_t type = 0;
};

// chunks_of() lists a well-formed file's chunks (after the file header).
std::vector<ChunkAt> chunks_of(const std::string& bytes) {
  tf::FileHeader h{};
  std::memcpy(&h, bytes.data(), sizeof h);
  std::vector<ChunkAt> out;
  for (std::size_t at = h.header_size; at + sizeof(tf::ChunkHeader) <= bytes.size();) {
    tf::ChunkHeader c{};
    std::memcpy(&c, bytes.data() + at, sizeof c);
    const std::size_t end = at + sizeof c + c.length;
    out.push_back(ChunkAt{at, end, c.type});
    at = end;
  }
  return out;
}

// without_calibration() drops the Calibration chunks: the clock is then
// the Process record's alone, one line both for a load and for a Follow
// (which refits as calibration arrives), so their times can be compared
// exactly.
std::string without_calibration(const std::string& bytes) {
  tf::FileHeader h{};
  std::memcpy(&h, bytes.data(), sizeof h);
  std::string out = bytes.substr(0, h.header_size);
  for (const ChunkAt& c : chunks_of(bytes))
    if (c.type != static_cast<std::uint16_t>(tf::ChunkType::Calibration)) out += bytes.substr(c.begin, c.end - c.begin);
  return out;
}

// rate_spread() is how far, relatively, any clock rate a follow of the file
// can use (the Process record's first one, then a fit through the pairs
// read so far) is from the rate a load fits through all of them: the bound
// on how much a followed time may differ from a loaded one, per ns.
double rate_spread(const std::string& bytes) {
  std::vector<tf::CalibrationRecord> pairs(1);  // [0]: the Process record's start pair
  double first_rate = 0;  // ns per tick
  for (const ChunkAt& c : chunks_of(bytes)) {
    const char* payload = bytes.data() + c.begin + sizeof(tf::ChunkHeader);
    if (c.type == static_cast<std::uint16_t>(tf::ChunkType::Process)) {
      tf::ProcessRecord p{};
      std::memcpy(&p, payload, sizeof p);
      pairs[0] = tf::CalibrationRecord{p.start_ticks, p.start_mono_ns};
      first_rate = 1 / p.ticks_per_ns;
    } else if (c.type == static_cast<std::uint16_t>(tf::ChunkType::Calibration)) {
      tf::CalibrationRecord r{};
      std::memcpy(&r, payload, sizeof r);
      pairs.push_back(r);
    }
  }
  const auto fit = [&pairs](std::size_t n, double otherwise) {
    const auto by_ticks = [](const tf::CalibrationRecord& x, const tf::CalibrationRecord& y) { return x.ticks < y.ticks; };
    const auto [lo, hi] = std::minmax_element(pairs.begin(), pairs.begin() + static_cast<std::ptrdiff_t>(n), by_ticks);
    if (hi->ticks == lo->ticks) return otherwise;
    return static_cast<double>(static_cast<std::int64_t>(hi->mono_ns - lo->mono_ns)) /
           static_cast<double>(hi->ticks - lo->ticks);
  };
  const double final_rate = fit(pairs.size(), first_rate);
  double spread = std::abs(first_rate - final_rate) / final_rate;
  for (std::size_t n = 1; n <= pairs.size(); ++n)
    spread = std::max(spread, std::abs(fit(n, first_rate) - final_rate) / final_rate);
  return spread + 1e-9;
}

void append_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Line is one fact of a model: what it is (`what`, exact) and its times;
// `sums` of how many spans they are (each rounded to the ns on its own).
struct Line {
  std::string what;
  std::vector<std::int64_t> times;
  std::int64_t sums = 1;
};

std::string info_text(const Model& m, std::uint32_t i) {
  const analysis::SpanInfo& s = m.infos[i];
  std::ostringstream o;
  o << "{stack " << s.stack << " key " << s.key << " fd " << s.fd << " what '" << m.text(s.what) << "' ev "
    << s.events << "}";
  return o.str();
}

std::string track_name(const Model& m, std::uint32_t t) {
  const Track& track = m.tracks[t];
  return std::string(track.type == Track::Type::Hub ? "hub" : track.type == Track::Type::Worker ? "worker" : "greenlet") +
         " " + std::to_string(track.greenlet);
}

void describe_track(const Model& m, std::uint32_t t, std::vector<Line>& out) {
  const Track& track = m.tracks[t];
  out.push_back({"track " + track_name(m, t) + " own levels " + std::to_string(track.own_levels) + " of " +
                     std::to_string(track.levels.size()),
                 {}});
  for (std::size_t l = 0; l < track.levels.size(); ++l) {
    const SpanColumns& c = track.levels[l];
    for (std::size_t i = 0; i < c.size(); ++i) {
      out.push_back({"  level " + std::to_string(l) + " " + std::to_string(static_cast<int>(c.kind[i])) + " code " +
                         std::to_string(c.code[i]) + (c.clipped[i] ? " clipped " : " ") + info_text(m, c.info[i]),
                     {c.begin[i], c.end[i]}});
    }
  }
}

// describe() is everything a model shows of process `p`, with track
// numbers replaced by what they are (a Follow numbers them otherwise).
std::vector<Line> describe(const Model& m, std::uint32_t p) {
  std::vector<Line> out;
  const analysis::ProcessSummary& ps = m.processes[p];
  out.push_back({"process " + ps.info.program, {ps.begin_ns, ps.end_ns}});
  for (const std::uint32_t th : ps.threads) {
    const analysis::ThreadSummary& s = m.threads[th];
    out.push_back({"thread " + std::to_string(s.index) + " '" + m.text(s.name) + "' hub " + std::to_string(s.has_hub),
                   {}});
    if (s.hub_track != UINT32_MAX) describe_track(m, s.hub_track, out);
    for (const std::uint32_t t : s.greenlet_tracks) describe_track(m, t, out);
    if (s.worker_track != UINT32_MAX) describe_track(m, s.worker_track, out);
  }
  for (const analysis::SwitchLink& l : m.switch_links())
    if (m.tracks[l.from_track].process == p)
      out.push_back({"switch " + track_name(m, l.from_track) + " -> " + track_name(m, l.to_track), {l.time_ns}});
  for (const analysis::GreenletSummary& g : m.greenlets) {
    if (g.process != p) continue;
    std::ostringstream o;
    o << "greenlet " << g.id << " '" << m.text(g.name) << "' spawner " << g.spawner << " thread "
      << m.threads[g.thread].index << " track " << (g.track == UINT32_MAX ? "none" : track_name(m, g.track))
      << " exit " << static_cast<int>(g.exit_kind) << " '" << m.text(g.error) << "' runs " << g.runs;
    std::int64_t spans = static_cast<std::int64_t>(g.runs) + 1;
    if (g.track != UINT32_MAX)
      for (const SpanColumns& c : m.tracks[g.track].levels) spans += static_cast<std::int64_t>(c.size());
    Line line{o.str(), {g.spawn_ns, g.exit_ns, g.running_ns, g.longest_run_ns, g.waiting_ns}, spans};
    for (const std::int64_t w : g.wait_ns) line.times.push_back(w);
    out.push_back(std::move(line));
  }
  for (std::size_t k = 0; k < m.stalls.size(); ++k) {
    if (m.stall_process[k] != p) continue;
    const traceio::StallInfo& s = m.stalls[k];
    std::ostringstream o;
    o << "stall " << s.id << " thread " << s.thread << " kind " << static_cast<int>(s.kind) << " samples "
      << s.samples.size() << " ended " << s.ended() << " greenlet " << s.greenlet;
    out.push_back({o.str(), {s.start_ns, s.duration_ns}});
  }
  for (std::size_t k = 0; k < m.crashes.size(); ++k)
    if (m.crash_process[k] == p)
      out.push_back({"crash signal " + std::to_string(m.crashes[k].signal), {m.crashes[k].time_ns}});
  for (std::size_t k = 0; k < m.run_infos.size(); ++k)
    if (m.run_info_process[k] == p) out.push_back({"run info " + m.run_infos[k].trigger, {m.run_infos[k].time_ns}});
  return out;
}

// expect_same() compares two descriptions: every `what` exactly, times
// within `per_ns` of the line's largest (a span's end and length both come
// from the clock), twice over, plus a ns per span a sum adds up.
void expect_same(const std::vector<Line>& followed, const std::vector<Line>& loaded, double per_ns = 0) {
  ASSERT_EQ(followed.size(), loaded.size()) << "followed and loaded models differ in size";
  for (std::size_t i = 0; i < loaded.size(); ++i) {
    ASSERT_EQ(followed[i].what, loaded[i].what) << "line " << i;
    ASSERT_EQ(followed[i].times.size(), loaded[i].times.size()) << "line " << i;
    std::int64_t largest = 0;
    for (const std::int64_t t : loaded[i].times) largest = std::max(largest, std::abs(t));
    for (std::size_t k = 0; k < loaded[i].times.size(); ++k) {
      const std::int64_t want = loaded[i].times[k], got = followed[i].times[k];
      const std::int64_t rounding = per_ns == 0 ? 0 : 2 * loaded[i].sums;
      const auto allowed = rounding + static_cast<std::int64_t>(2 * per_ns * static_cast<double>(largest));
      ASSERT_LE(std::abs(got - want), allowed) << "line " << i << " (" << loaded[i].what << ") time " << k;
    }
  }
}

Model load_model(const std::string& path) {
  Model m;
  std::string error;
  EXPECT_TRUE(m.load(path, &error)) << error;
  return m;
}

// Growth is how a test writes the file: chunk by chunk, or in cuts of a
// fixed number of bytes that fall anywhere (inside headers and payloads).
struct Growth {
  std::size_t bytes = 0;  // 0: whole chunks
};

// follow_in_pieces() writes `bytes` into `path` piece by piece with an
// update after each; at every `check_every`-th chunk boundary it compares
// the followed model with a load of the file as it is then.
void follow_in_pieces(const std::string& bytes, const std::string& path, Growth growth, std::size_t check_every,
                      Model& followed, analysis::Follow& follow) {
  ::unlink(path.c_str());
  const std::vector<ChunkAt> chunks = chunks_of(bytes);
  std::vector<std::size_t> cuts;
  if (growth.bytes == 0) {
    cuts.push_back(chunks.front().begin);  // the file header alone first
    for (const ChunkAt& c : chunks) cuts.push_back(c.end);
  } else {
    for (std::size_t at = growth.bytes; at < bytes.size(); at += growth.bytes) cuts.push_back(at);
    cuts.push_back(bytes.size());
  }
  std::size_t written = 0, boundary = 0;
  for (const std::size_t cut : cuts) {
    append_bytes(path, bytes.substr(written, cut - written));
    written = cut;
    ASSERT_EQ(follow.update(), "");
    ASSERT_NO_FATAL_FAILURE(expect_levels_well_formed(followed));
    if (growth.bytes != 0 || check_every == 0 || ++boundary % check_every != 0 || written == bytes.size()) continue;
    if (follow.process() == UINT32_MAX) continue;
    const Model loaded = load_model(path);
    SCOPED_TRACE("cut at byte " + std::to_string(written));
    ASSERT_NO_FATAL_FAILURE(expect_same(describe(followed, follow.process()), describe(loaded, 0)));
  }
  ASSERT_TRUE(follow.at_end());
  ASSERT_EQ(follow.offset(), bytes.size());
  // A file that did not grow changes nothing (the viewer asks 4 times a second).
  ASSERT_EQ(follow.update(), "");
  EXPECT_FALSE(follow.changed());
}

class FollowSampleTest : public ::testing::TestWithParam<const char*> {};

// A sample trace without its calibration, followed chunk by chunk: the
// model at every chunk boundary and at the end is exactly a load's.
TEST_P(FollowSampleTest, ChunkByChunkIsExactlyALoadAtEveryStep) {
  const std::string bytes = without_calibration(read_bytes(sample(GetParam())));
  ScopedFile file(temp_path("chunks"));
  Model followed;
  analysis::Follow follow(followed, file.path);
  ASSERT_NO_FATAL_FAILURE(follow_in_pieces(bytes, file.path, Growth{}, 1, followed, follow));
  const Model loaded = load_model(file.path);
  ASSERT_GT(loaded.span_count(), 0u);
  expect_same(describe(followed, follow.process()), describe(loaded, 0));
}

// Cuts of 4099 bytes fall inside chunk headers and payloads: a Follow waits
// for the rest of a chunk and ends where a load does.
TEST_P(FollowSampleTest, CutsAnywhereEndAsALoad) {
  const std::string bytes = without_calibration(read_bytes(sample(GetParam())));
  ScopedFile file(temp_path("cuts"));
  Model followed;
  analysis::Follow follow(followed, file.path);
  ASSERT_NO_FATAL_FAILURE(follow_in_pieces(bytes, file.path, Growth{4099}, 0, followed, follow));
  expect_same(describe(followed, follow.process()), describe(load_model(file.path), 0));
}

// The real file, calibration included: the Follow fits its clock from what
// it has read and refits as more arrives, so times may move from a load's
// by the rate's error (the TSC's: parts per million); nothing else may.
TEST_P(FollowSampleTest, CalibratedFileDiffersFromALoadOnlyByTheClockFit) {
  const std::string bytes = read_bytes(sample(GetParam()));
  ScopedFile file(temp_path("calibrated"));
  Model followed;
  analysis::Follow follow(followed, file.path);
  ASSERT_NO_FATAL_FAILURE(follow_in_pieces(bytes, file.path, Growth{}, 0, followed, follow));
  expect_same(describe(followed, follow.process()), describe(load_model(file.path), 0), rate_spread(bytes));
}

INSTANTIATE_TEST_SUITE_P(Samples, FollowSampleTest,
                         ::testing::Values("stall-zoo.gstrace", "photo-pipeline.gstrace", "downloader.gstrace",
                                           "echo-load.gstrace", "crash.gstrace"),
                         [](const ::testing::TestParamInfo<const char*>& param) {
                           std::string name = param.param;
                           name = name.substr(0, name.find('.'));
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// A program traced in this process while the test follows its file as the
// writer grows it (chunks half written, calibration arriving every second):
// the model grows as it runs and ends as a load of the file.
TEST(FollowLiveTest, AProgramFollowedAsItRunsEndsAsALoadOfItsFile) {
  using namespace std::chrono_literals;
  ScopedFile file(temp_path("live"));
  trace::Options options;
  options.path = file.path;
  std::string error;
  ASSERT_TRUE(trace::start(options, &error)) << error;
  std::atomic<bool> done{false};
  std::thread program([&done] {
    const auto end = std::chrono::steady_clock::now() + 2500ms;
    std::vector<gs::Greenlet<void>> all;
    for (int i = 0; i < 20; ++i) {
      all.push_back(gs::spawn([i, end] {
        while (std::chrono::steady_clock::now() < end) {
          if (i % 2 == 1) gs::yield();
          gs::sleep(1ms);
        }
      }));
    }
    for (auto& g : all) g.join();
    done.store(true);
  });
  Model followed;
  analysis::Follow follow(followed, file.path);
  std::size_t grew = 0;
  std::string failed;
  while (!done.load() && failed.empty()) {
    failed = follow.update();
    if (follow.changed()) ++grew;
    std::this_thread::sleep_for(20ms);
  }
  program.join();
  trace::stop();
  ASSERT_EQ(failed, "");
  do {
    ASSERT_EQ(follow.update(), "");
  } while (!follow.at_end());
  EXPECT_GE(grew, 3u) << "the model grew while the program ran (the writer flushes every 50 ms)";
  ASSERT_NO_FATAL_FAILURE(expect_levels_well_formed(followed));
  const std::string bytes = read_bytes(file.path);
  EXPECT_EQ(follow.offset(), bytes.size());
  const Model loaded = load_model(file.path);
  EXPECT_GT(loaded.span_count(), 1000u);
  expect_same(describe(followed, follow.process()), describe(loaded, 0), rate_spread(bytes));
}

// Each poll hands out only the events it decoded: all polls together are
// the events a load reads, in the same order.
TEST(FollowerTest, PollsHandOutEveryEventOnce) {
  const std::string bytes = without_calibration(read_bytes(sample("stall-zoo.gstrace")));
  ScopedFile file(temp_path("events"));
  traceio::Follower follower(file.path);
  EXPECT_EQ(follower.poll(), "");  // no file yet: nothing, no error
  EXPECT_FALSE(follower.started());
  std::map<std::uint32_t, std::vector<traceio::Event>> seen;
  const std::vector<ChunkAt> chunks = chunks_of(bytes);
  std::size_t written = 0;
  std::vector<std::size_t> cuts;
  for (std::size_t k = 0; k < chunks.size(); k += 7) cuts.push_back(chunks[k].end);
  cuts.push_back(bytes.size());
  for (const std::size_t cut : cuts) {
    append_bytes(file.path, bytes.substr(written, cut - written));
    written = cut;
    ASSERT_EQ(follower.poll(), "");
    for (const traceio::ThreadInfo& t : follower.trace().threads())
      seen[t.index].insert(seen[t.index].end(), t.events.begin(), t.events.end());
  }
  const traceio::LoadResult loaded = traceio::load(file.path);
  ASSERT_NE(loaded.trace, nullptr);
  std::size_t events = 0;
  for (const traceio::ThreadInfo& t : loaded.trace->threads()) {
    const std::vector<traceio::Event>& got = seen[t.index];
    ASSERT_EQ(got.size(), t.events.size()) << "thread " << t.index;
    for (std::size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i].time_ns, t.events[i].time_ns) << "thread " << t.index << " event " << i;
      ASSERT_EQ(got[i].type, t.events[i].type) << "thread " << t.index << " event " << i;
      ASSERT_EQ(got[i].greenlet, t.events[i].greenlet) << "thread " << t.index << " event " << i;
      ASSERT_EQ(follower.trace().text(got[i].str), loaded.trace->text(t.events[i].str));
    }
    events += got.size();
  }
  EXPECT_GT(events, 1000u);
  EXPECT_EQ(follower.trace().stats().events, loaded.trace->stats().events);
  EXPECT_EQ(follower.trace().greenlets().size(), loaded.trace->greenlets().size());
  EXPECT_EQ(follower.trace().stacks().size(), loaded.trace->stacks().size());
}

TEST(FollowerTest, NotATraceIsAnErrorThatSaysSo) {
  ScopedFile file(temp_path("garbage"));
  write_bytes(file.path, std::string(64, 'x'));
  traceio::Follower follower(file.path);
  const std::string error = follower.poll();
  EXPECT_NE(error.find("not a greenscope trace"), std::string::npos) << error;
  EXPECT_NE(error.find(file.path), std::string::npos) << error;
}

// A file shorter than its header is a writer that has just begun: wait.
TEST(FollowerTest, APartialHeaderIsWaitedFor) {
  const std::string bytes = read_bytes(sample("crash.gstrace"));
  ScopedFile file(temp_path("header"));
  write_bytes(file.path, bytes.substr(0, 5));
  traceio::Follower follower(file.path);
  EXPECT_EQ(follower.poll(), "");
  EXPECT_FALSE(follower.started());
  append_bytes(file.path, bytes.substr(5));
  EXPECT_EQ(follower.poll(), "");
  EXPECT_TRUE(follower.started());
  EXPECT_TRUE(follower.at_end());
  EXPECT_FALSE(follower.trace().threads().empty());
}

// The program ran again: a new file under the path is noticed, not mixed in.
TEST(FollowerTest, ANewFileAtThePathIsReplaced) {
  const std::string bytes = read_bytes(sample("crash.gstrace"));
  ScopedFile file(temp_path("replaced"));
  write_bytes(file.path, bytes);
  traceio::Follower follower(file.path);
  ASSERT_EQ(follower.poll(), "");
  EXPECT_FALSE(follower.replaced());
  ::unlink(file.path.c_str());
  write_bytes(file.path, bytes.substr(0, bytes.size() / 2));
  ASSERT_EQ(follower.poll(), "");
  EXPECT_TRUE(follower.replaced());
}

// A lost slice in the middle of a block: the rest of that block is lost and
// said so, with its offset; what follows goes on.
TEST(FollowerTest, ALostSliceIsAProblemAndTheFollowGoesOn) {
  const std::string full = without_calibration(read_bytes(sample("stall-zoo.gstrace")));
  // Drop the first Events chunk that continues a block (offset > 0).
  std::string bytes = full.substr(0, sizeof(tf::FileHeader));
  bool dropped = false;
  for (const ChunkAt& c : chunks_of(full)) {
    if (!dropped && c.type == static_cast<std::uint16_t>(tf::ChunkType::Events)) {
      tf::EventsRecord r{};
      std::memcpy(&r, full.data() + c.begin + sizeof(tf::ChunkHeader), sizeof r);
      if (r.offset > 0) {
        dropped = true;
        continue;
      }
    }
    bytes += full.substr(c.begin, c.end - c.begin);
  }
  ASSERT_TRUE(dropped);
  ScopedFile file(temp_path("lost"));
  write_bytes(file.path, bytes);
  Model followed;
  analysis::Follow follow(followed, file.path);
  ASSERT_EQ(follow.update(), "");
  const std::vector<traceio::Problem>& problems = followed.processes[0].problems;
  ASSERT_FALSE(problems.empty());
  EXPECT_NE(problems.front().message.find("are missing"), std::string::npos) << problems.front().message;
  expect_levels_well_formed(followed);
  EXPECT_GT(followed.span_count(), 0u);
}

}  // namespace
}  // namespace gs::test
