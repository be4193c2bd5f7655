// golden_test.cpp: traces/golden-v1.gstrace, written by format 1.0
// (golden_writer.cpp), must keep reading exactly as it did: a reader change
// that breaks old files fails here.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>

#include "trace_test_support.h"

namespace gs::test {
namespace {

using traceio::EventType;

TEST(GoldenTraceTest, Version1FileReadsWithTheSameCounts) {
  auto t = load_or_fail(GOLDEN_TRACE_PATH);
  ASSERT_TRUE(t);
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
  for (const auto& [type, n] : expected) EXPECT_EQ(count(*t, type), n) << traceio::to_string(type);
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
TEST(GoldenTraceTest, EveryPrefixReadsUpToTheCut) {
  std::string bytes;
  if (std::FILE* f = std::fopen(GOLDEN_TRACE_PATH, "rb")) {
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) bytes.append(buf, n);
    std::fclose(f);
  }
  ASSERT_GT(bytes.size(), 1000u);
  const std::string path = temp_trace_path("prefix");
  std::uint64_t last = 0;
  for (std::size_t cut = 32; cut <= bytes.size(); cut += 7) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(std::fwrite(bytes.data(), 1, cut, f), cut);
    std::fclose(f);
    traceio::LoadResult r = traceio::load(path);
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
