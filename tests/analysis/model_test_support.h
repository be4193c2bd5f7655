// model_test_support.h: what every Model test checks, and recording a real
// program into a file that stays (trace_test_support.h's record() deletes
// its file; a test that loads by path needs it).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "greenscope/analysis/model.h"
#include "greenscope/tracer.h"
#include "trace_test_support.h"

namespace gs::test {

// ScopedFile deletes its path when the test ends.
struct ScopedFile {
  std::string path;
  explicit ScopedFile(std::string p) : path(std::move(p)) {}
  ~ScopedFile() { ::unlink(path.c_str()); }
  ScopedFile(const ScopedFile&) = delete;
  ScopedFile& operator=(const ScopedFile&) = delete;
};

// record_to_file() traces `body` into `path` and leaves the file there.
inline bool record_to_file(const std::string& path, const std::function<void()>& body, trace::Options options) {
  options.path = path;
  std::string error;
  if (!trace::start(options, &error)) {
    ADD_FAILURE() << "trace::start: " << error;
    return false;
  }
  body();
  trace::stop();
  return true;
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  std::string bytes(static_cast<std::size_t>(std::max<std::streamoff>(0, in.tellg())), '\0');
  in.seekg(0);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return bytes;
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// expect_levels_well_formed() checks SpanColumns' promise on every level:
// columns of one length, begin <= end, sorted by begin, and no overlap (so
// the ends are sorted too).
inline void expect_levels_well_formed(const analysis::Model& m) {
  for (std::size_t t = 0; t < m.tracks.size(); ++t) {
    const analysis::Track& track = m.tracks[t];
    ASSERT_LE(track.own_levels, track.levels.size()) << "track " << t;
    for (std::size_t l = 0; l < track.levels.size(); ++l) {
      const analysis::SpanColumns& c = track.levels[l];
      ASSERT_EQ(c.end.size(), c.size());
      ASSERT_EQ(c.kind.size(), c.size());
      ASSERT_EQ(c.code.size(), c.size());
      ASSERT_EQ(c.info.size(), c.size());
      ASSERT_EQ(c.clipped.size(), c.size());
      for (std::size_t i = 0; i < c.size(); ++i) {
        ASSERT_LE(c.begin[i], c.end[i]) << "track " << t << " level " << l << " span " << i;
        ASSERT_LT(c.info[i], m.infos.size());
        if (i == 0) continue;
        ASSERT_LE(c.begin[i - 1], c.begin[i]) << "track " << t << " level " << l << " span " << i;
        ASSERT_LE(c.end[i - 1], c.begin[i]) << "overlap: track " << t << " level " << l << " span " << i;
      }
    }
  }
}

// spans_of() lists one level's spans of `kind`, as (begin, end).
inline std::vector<std::pair<std::int64_t, std::int64_t>> spans_of(const analysis::SpanColumns& c,
                                                                    analysis::SpanKind kind) {
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  for (std::size_t i = 0; i < c.size(); ++i)
    if (c.kind[i] == kind) out.emplace_back(c.begin[i], c.end[i]);
  return out;
}

// track_of_greenlet() is the index of greenlet `id`'s track in process 0, or -1.
inline long track_of_greenlet(const analysis::Model& m, std::uint64_t id) {
  const analysis::GreenletSummary* g = m.greenlet(0, id);
  return g == nullptr || g->track == UINT32_MAX ? -1 : static_cast<long>(g->track);
}

}  // namespace gs::test
