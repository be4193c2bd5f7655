// writer.h: a recording session and its writer thread (writer.cpp).
//
// The writer wakes every flush interval, or when a producer fills a block.
// Streaming: it ships every committed byte as Events chunks and recycles
// full blocks. Flight recorder: it keeps full blocks in a ring bounded by the
// configured MiB, evicting the oldest, and writes them only on dump().
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "greenscope/detail/futex.h"
#include "chunk_file.h"
#include "code_chunks.h"
#include "greenscope/tracer.h"
#include "process_info.h"
#include "registry.h"
#include "run_info_queue.h"
#include "stack_table.h"

namespace gs::trace::detail {

// StringTable gives each distinct text one Strings id for the session.
class StringTable {
 public:
  std::uint32_t intern(const char* text);
  // payload() is a Strings chunk payload of the texts added since the last
  // call, or of all of them; empty when there is nothing to write.
  std::vector<std::uint8_t> payload(bool all);

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::uint32_t> ids_;
  std::vector<std::pair<std::uint32_t, std::string>> pending_;
};

// Slice is a run of a block's committed bytes to ship as one Events chunk.
struct Slice {
  Block* block;
  std::uint32_t begin, end;
};

// WriterSignals are the words signal handlers and producers may touch.
struct WriterSignals {
  std::atomic<std::uint32_t> wake{0};  // futex word the writer sleeps on
  std::atomic<bool> dump_requested{false};
  std::atomic<bool> crash_flush_requested{false};
  std::atomic<std::uint32_t> crash_flushes_done{0};
};
extern WriterSignals g_signals;

class Session final : public BlockSource {
 public:
  explicit Session(const Options& options);
  ~Session();

  // open() creates the file (streaming) and writes its preamble.
  bool open(std::string* error);
  // start_writer() starts the writer thread, which keeps an fd table of its
  // own holding only the trace file (own_fd_table.h); this thread's copy of
  // the file is closed once it does.
  void start_writer();
  // finish() ships everything, closes the file and joins the writer.
  // Precondition: no producer is inside a hook.
  void finish();
  // release_blocks() takes every block back from the streams. Lock held.
  void release_blocks_locked();

  void top_up(ThreadStream& stream) override;
  void top_up_fairly(const std::vector<ThreadStream*>& streams);
  // report_drops_for() writes the Dropped report of a stream whose thread
  // can no longer do it (it exited, or the session stops), giving it a block
  // to write in. Lock held; the stream's thread is not inside a hook.
  void report_drops_for(ThreadStream& stream);
  Stats stats() const;
  // path() is the file written (where another process wrote at the path
  // asked for, path-PID: ChunkFile::open()).
  const std::string& path() const { return path_; }
  // abandon_after_fork() closes the file in a forked child, unwritten.
  void abandon_after_fork() { file_.abandon(); }
  bool flight() const { return flight_; }
  std::string dump(const std::string& path);
  StringTable& strings() { return strings_; }
  StackTable& stacks() { return stacks_; }
  RunInfoQueue& run_infos() { return run_infos_; }

 private:
  Block* take_block();
  void give_report_block(ThreadStream& stream);
  void run(std::promise<bool>& left, bool creator_left);
  void tick(bool final, unsigned symbol_wait_ms);
  void ship(Block& b, std::vector<Slice>& slices);
  void write_slices(ChunkFile& file, const std::vector<Slice>& slices);
  void announce_threads(ChunkFile& file, const std::vector<ThreadStream*>& streams, bool all);
  void write_calibration(ChunkFile& file);
  void write_end(ChunkFile& file, const Stats& stats);
  bool check_file_error(const ChunkFile& file);
  void do_dump(const std::string& path);
  std::string next_dump_path();

  const Options options_;
  const bool flight_;
  const StartPoint start_;
  std::string path_;
  ChunkFile file_;
  std::thread writer_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> bytes_{0};
  bool error_reported_ = false;

  // Block memory, guarded by g_registry_mutex.
  std::vector<std::unique_ptr<Block>> all_;
  std::vector<Block*> pool_;
  std::size_t max_blocks_ = 0;
  std::size_t free_target_ = kMinFreeBlocksPerThread;  // free blocks to keep per thread

  // Flight recorder: full blocks kept for the next dump (writer only).
  std::deque<Block*> retained_;
  std::size_t retain_blocks_ = 0;
  unsigned dumps_ = 0;

  // Counters of streams whose threads exited (guarded by g_registry_mutex).
  std::uint64_t retired_events_ = 0, retired_dropped_ = 0, retired_threads_ = 0;

  std::mutex dump_mutex_;
  std::condition_variable dump_cv_;
  std::string dump_path_, dump_result_;
  bool dump_done_ = true;

  StringTable strings_;
  StackTable stacks_;
  CodeChunks code_{stacks_};  // writer only, after open()
  RunInfoQueue run_infos_{flight_};
};

}  // namespace gs::trace::detail
