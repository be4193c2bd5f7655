// golden_test.cpp: traces/golden-v1.gstrace, written by format 1.0
// (tests/tracer/golden_writer.cpp), must keep reading exactly as it did:
// a reader change that breaks old files fails here.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <map>
#include <vector>

#include "trace_builder.h"

namespace gs::test {
namespace {

using namespace gs::traceio;

const std::string kGolden = std::string(GS_TRACES_DIR) + "/golden-v1.gstrace";

TEST(Golden, LoadsWithoutProblems) {
  LoadResult r = load(kGolden);
  ASSERT_TRUE(r.trace) << r.error;
  const Trace& t = *r.trace;
  for (const Problem& p : t.problems()) ADD_FAILURE() << "@" << p.offset << ": " << p.message;
  EXPECT_EQ(t.process().major, 1);
  EXPECT_EQ(t.process().clock, "tsc");
  EXPECT_TRUE(t.stats().clean_end);
  EXPECT_EQ(t.stats().events, t.stats().end_events);
  EXPECT_EQ(t.stats().dropped, t.stats().end_dropped);
  EXPECT_GE(t.threads().size(), 2u);
  EXPECT_LE(t.begin_ns(), t.end_ns());
}

TEST(Golden, EverySwitchHasKnownGreenlets) {
  LoadResult r = load(kGolden);
  ASSERT_TRUE(r.trace) << r.error;
  for (const ThreadInfo& thread : r.trace->threads()) {
    for (const Event& e : thread.events) {
      if (e.type != EventType::Switch) continue;
      EXPECT_NE(e.a, 0u) << thread.name << " @" << e.time_ns;
      EXPECT_NE(e.b, 0u) << thread.name << " @" << e.time_ns;
      EXPECT_TRUE(r.trace->greenlets().contains(e.a));
      EXPECT_TRUE(r.trace->greenlets().contains(e.b));
    }
  }
}

TEST(Golden, NamesAndExitsComeThrough) {
  LoadResult r = load(kGolden);
  ASSERT_TRUE(r.trace) << r.error;
  const auto& g = r.trace->greenlets();
  bool renamed = false, failed = false, hub = false;
  for (const auto& [id, info] : g) {
    renamed |= info.name == "pipe-reader";
    failed |= info.exit_kind == ExitKind::Failed && !info.error.empty();
    hub |= info.name == "hub";
  }
  EXPECT_TRUE(renamed);
  EXPECT_TRUE(failed);
  EXPECT_TRUE(hub);
}

std::uint64_t count(const Trace& t, EventType type) { return t.stats().count[static_cast<std::size_t>(type)]; }

std::uint64_t greenlet_named(const Trace& t, const std::string& name) {
  for (const auto& [id, g] : t.greenlets())
    if (g.name == name) return id;
  return 0;
}

std::vector<Event> all_events(const Trace& t, EventType type) {
  std::vector<Event> out;
  for (const auto& th : t.threads())
    for (const auto& e : th.events)
      if (e.type == type) out.push_back(e);
  return out;
}

TEST(Golden, Version1FileReadsWithTheSameCounts) {
  LoadResult loaded = load(kGolden);
  ASSERT_TRUE(loaded.trace) << loaded.error;
  const Trace* t = loaded.trace.get();
  EXPECT_TRUE(t->problems().empty()) << t->problems().front().message;
  EXPECT_EQ(t->process().major, 1);
  EXPECT_EQ(t->process().minor, 0);
  EXPECT_NE(t->process().program.find("golden_writer"), std::string::npos);
  EXPECT_TRUE(t->stats().clean_end);
  EXPECT_EQ(t->stats().events, 226u);
  EXPECT_EQ(t->stats().end_events, 226u);
  EXPECT_EQ(t->threads().size(), 4u);
  EXPECT_EQ(t->greenlets().size(), 20u);
  const std::map<EventType, std::uint64_t> expected = {
      {EventType::HubStart, 3u},         {EventType::HubStop, 2u},          {EventType::Spawn, 14u},
      {EventType::Rename, 3u},           {EventType::Exit, 14u},            {EventType::Switch, 72u},
      {EventType::CallbacksBegin, 13u},  {EventType::CallbacksEnd, 12u},    {EventType::PollBegin, 12u},
      {EventType::PollEnd, 12u},         {EventType::WatcherBegin, 27u},    {EventType::WatcherEnd, 26u},
      {EventType::CallbackEnqueue, 2u},  {EventType::CallbackBegin, 2u},    {EventType::CallbackEnd, 2u},
      {EventType::Error, 1u},            {EventType::JobSubmit, 1u},        {EventType::JobBegin, 1u},
      {EventType::JobEnd, 1u},           {EventType::JobDone, 1u},          {EventType::PatchedWaitBegin, 2u},
      {EventType::PatchedWaitEnd, 2u},   {EventType::TimeoutExpired, 1u},   {EventType::Dropped, 0u},
  };
  for (const auto& [type, n] : expected) EXPECT_EQ(count(*t, type), n) << to_string(type);
  EXPECT_NE(greenlet_named(*t, "pipe-reader"), 0u);
  EXPECT_NE(greenlet_named(*t, "second-thread-greenlet"), 0u);
  const auto errors = all_events(*t, EventType::Error);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(t->text(errors[0].str).find("golden failure"), std::string::npos);
  const auto patched = all_events(*t, EventType::PatchedWaitBegin);
  ASSERT_EQ(patched.size(), 2u);
  EXPECT_EQ(t->text(patched[0].str), "read()");
  EXPECT_EQ(t->text(patched[1].str), "usleep()");
}

// Every prefix of the golden file reads without a crash, keeps what it
// holds, and never holds more than the whole.
TEST(Golden, EveryPrefixReadsUpToTheCut) {
  std::string bytes;
  if (std::FILE* f = std::fopen(kGolden.c_str(), "rb")) {
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) bytes.append(buf, n);
    std::fclose(f);
  }
  ASSERT_GT(bytes.size(), 1000u);
  const std::string path = "/tmp/gs-golden-prefix-" + std::to_string(::getpid()) + ".gstrace";
  std::uint64_t last = 0;
  for (std::size_t cut = 32; cut <= bytes.size(); cut += 7) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(std::fwrite(bytes.data(), 1, cut, f), cut);
    std::fclose(f);
    LoadResult r = load(path);
    ASSERT_TRUE(r.trace) << "cut at " << cut << ": " << r.error;
    EXPECT_GE(r.trace->stats().events, last) << "a longer prefix never reads fewer events (cut " << cut << ")";
    EXPECT_LE(r.trace->stats().events, 226u);
    last = r.trace->stats().events;
    if (cut < bytes.size()) {
      EXPECT_FALSE(r.trace->problems().empty()) << "a cut file says it is incomplete";
    }
  }
  ::unlink(path.c_str());
}

}  // namespace
}  // namespace gs::test
