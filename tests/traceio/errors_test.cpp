// errors_test.cpp: files that leave nothing to show are errors that name
// the path and say what to do; everything else loads.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdio>
#include <cstring>

#include "trace_builder.h"

namespace gs::test {
namespace {

using namespace gs::traceio;

// load_error() writes `bytes`, loads them, and returns the error, checking
// that it names the file.
std::string load_error(const Bytes& bytes) {
  const std::string path = write_file(bytes);
  LoadResult r = load(path);
  std::remove(path.c_str());
  EXPECT_EQ(r.trace, nullptr);
  EXPECT_TRUE(Contains(r.error, path));
  return r.error;
}

Bytes with_header(std::uint16_t major, std::uint16_t minor, std::uint32_t header_size) {
  tf::FileHeader h{};
  std::memcpy(h.magic, tf::kFileMagic, sizeof(h.magic));
  h.major = major;
  h.minor = minor;
  h.header_size = header_size;
  ByteSink s;
  s.record(h);
  return s.bytes;
}

TEST(Errors, ANonexistentFileSaysWhy) {
  const std::string path = ::testing::TempDir() + "no/such/trace.gstrace";
  LoadResult r = load(path);
  EXPECT_EQ(r.trace, nullptr);
  EXPECT_TRUE(Contains(r.error, path));
  EXPECT_TRUE(Contains(r.error, "No such file"));
}

TEST(Errors, ADirectoryIsNotATrace) {
  LoadResult r = load(::testing::TempDir());
  EXPECT_EQ(r.trace, nullptr);
  EXPECT_TRUE(Contains(r.error, "directory"));
}

TEST(Errors, AnEmptyFile) { EXPECT_TRUE(Contains(load_error({}), "empty")); }

TEST(Errors, WrongMagicIsNotATrace) {
  Bytes bytes = TraceBuilder().bytes();
  bytes[3] = 'X';
  EXPECT_TRUE(Contains(load_error(bytes), "not a greenscope trace"));
  EXPECT_TRUE(Contains(load_error({'h', 'i'}), "not a greenscope trace"));
}

TEST(Errors, AFileCutInsideItsHeader) {
  Bytes bytes = TraceBuilder().bytes();
  bytes.resize(20);
  EXPECT_TRUE(Contains(load_error(bytes), "truncated"));
}

TEST(Errors, ANewerMajorVersionAsksForAnUpgrade) {
  const std::string error = load_error(with_header(tf::kFormatMajor + 1, 3, 32));
  EXPECT_TRUE(Contains(error, "format " + std::to_string(tf::kFormatMajor + 1) + ".3"));
  EXPECT_TRUE(Contains(error, "upgrade greenscope"));
}

TEST(Errors, AMajorVersionOlderThanTheOldestReadIsRefused) {
  const std::string error = load_error(with_header(0, 9, 32));
  EXPECT_TRUE(Contains(error, "format 0.9"));
  EXPECT_TRUE(Contains(error, "it reads 1.x to 2.x"));
}

// The compatibility rule of 2.0: 2.x readers read 1.x files.
TEST(Errors, EveryMajorVersionFromTheOldestLoads) {
  for (std::uint16_t major = tf::kOldestMajor; major <= tf::kFormatMajor; ++major) {
    TraceBuilder b(major, 0);
    b.process();
    b.end();
    LoadResult r = load_bytes(b.bytes());
    ASSERT_TRUE(r.trace) << major << ": " << r.error;
    EXPECT_TRUE(r.trace->problems().empty()) << major;
    EXPECT_EQ(r.trace->process().major, major);
  }
}

TEST(Errors, AHeaderSizeBelowTheHeaderIsDamage) {
  EXPECT_TRUE(Contains(load_error(with_header(tf::kFormatMajor, 0, 16)), "header_size 16"));
}

TEST(Errors, ANewerMinorWithALongerHeaderLoads) {
  Bytes bytes = with_header(tf::kFormatMajor, 7, 40);
  bytes.resize(40, 0xAB);  // fields this reader does not know
  TraceBuilder chunks;
  chunks.process();
  chunks.end();
  bytes.insert(bytes.end(), chunks.bytes().begin() + sizeof(tf::FileHeader), chunks.bytes().end());
  LoadResult r = load_bytes(bytes);
  ASSERT_TRUE(r.trace) << r.error;
  EXPECT_TRUE(r.trace->problems().empty());
  EXPECT_EQ(r.trace->process().minor, 7);
  EXPECT_EQ(r.trace->process().pid, 4242u);
}

TEST(Errors, AHeaderSizePastTheEndIsAProblemNotAnError) {
  LoadResult r = load_bytes(with_header(tf::kFormatMajor, 0, 0xFFFFFFFF));
  ASSERT_TRUE(r.trace) << r.error;
  ASSERT_FALSE(r.trace->problems().empty());
  EXPECT_TRUE(Contains(r.trace->problems()[0].message, "truncated"));
}

TEST(Errors, ProgressEndsAtTheFileSize) {
  TraceBuilder b;
  b.process();
  b.end();
  const std::string path = write_file(b.bytes());
  std::uint64_t calls = 0, last_done = 0, last_total = 0;
  LoadOptions options;
  options.progress = [&](std::uint64_t done, std::uint64_t total) {
    ++calls;
    EXPECT_GE(done, last_done);
    last_done = done;
    last_total = total;
  };
  LoadResult r = load(path, options);
  std::remove(path.c_str());
  ASSERT_TRUE(r.trace) << r.error;
  EXPECT_GE(calls, 1u);
  EXPECT_EQ(last_done, b.bytes().size());
  EXPECT_EQ(last_total, b.bytes().size());
}

}  // namespace
}  // namespace gs::test
