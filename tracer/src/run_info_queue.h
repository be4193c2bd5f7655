// run_info_queue.h: run-info dumps (Observer::on_run_info(), and a crash's
// report) waiting for the writer to put them in RunInfo chunks.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>

#include "chunk_file.h"

namespace gs::trace::detail {

class RunInfoQueue {
 public:
  // kKept bounds what a flight recorder holds for its next dump.
  static constexpr std::size_t kKept = 8;

  explicit RunInfoQueue(bool keep_for_dumps) : keep_(keep_for_dumps) {}

  // push() may run on any thread; dumps are rare, so a lock is fine.
  void push(std::uint64_t ticks, std::string_view trigger, std::string_view text);
  // write_new() writes what was pushed since the last call (streaming).
  void write_new(ChunkFile& file);
  // write_kept() writes the last kKept dumps (a flight-recorder dump).
  void write_kept(ChunkFile& file);

 private:
  struct Entry {
    std::uint64_t ticks;
    std::string trigger, text;
  };
  static void write(ChunkFile& file, const Entry& e);

  const bool keep_;
  std::mutex mutex_;
  std::deque<Entry> entries_;
};

}  // namespace gs::trace::detail
