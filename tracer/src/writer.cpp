#include "writer.h"

#include "greenscope/detail/own_fd_table.h"
#include "greenscope/detail/quiet_thread.h"
#include "greenscope/trace_env.h"
#include "session.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace gs::trace::detail {

namespace tf = trace_format;

WriterSignals g_signals;

namespace {

// How long the writer waits for the symbol resolver to finish what is
// queued, by occasion: a streaming tick (not at all: it writes what is
// done), the final tick at stop(), a crash's flush, a flight-recorder dump.
// What is left is resolved by the reader from the module map.
constexpr unsigned kTickSymbolWaitMs = 0;
constexpr unsigned kFinalSymbolWaitMs = 2000;
constexpr unsigned kCrashSymbolWaitMs = 300;
constexpr unsigned kDumpSymbolWaitMs = 500;

}  // namespace

// ---------------------------------------------------------------------------
// StringTable
// ---------------------------------------------------------------------------

std::uint32_t StringTable::intern(const char* text) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto [it, added] = ids_.try_emplace(text, static_cast<std::uint32_t>(ids_.size() + 1));
  if (added) pending_.emplace_back(it->second, it->first);
  return it->second;
}

std::vector<std::uint8_t> StringTable::payload(bool all) {
  std::lock_guard<std::mutex> lock(mutex_);
  PayloadBuilder b;
  if (all) {
    for (const auto& [text, id] : ids_) {
      b.varint(id);
      b.string(text);
    }
  } else {
    for (const auto& [id, text] : pending_) {
      b.varint(id);
      b.string(text);
    }
    pending_.clear();
  }
  return b.bytes();
}

// ---------------------------------------------------------------------------
// Session
// ---------------------------------------------------------------------------

Session::Session(const Options& options)
    : options_(options), flight_(options.flight_recorder_mib > 0), start_(measure_start_point()) {
  const std::size_t mib = flight_ ? options.flight_recorder_mib + 8 : std::max<std::size_t>(options.buffer_mib, 1);
  max_blocks_ = std::max<std::size_t>(mib * (1u << 20) / sizeof(Block), 4 * kMinFreeBlocksPerThread);
  retain_blocks_ = options.flight_recorder_mib * (1u << 20) / sizeof(Block);
  path_ = options.path;
}

Session::~Session() = default;

bool Session::open(std::string* error) {
  if (flight_) return true;  // dumps create their own files
  // On the thread that starts tracing, one of the program's: a file size
  // limit reached here must not kill the program (the writer thread, later,
  // blocks SIGXFSZ for good).
  const FileSizeSignalBlocked no_xfsz;
  if (!file_.open(path_, 0, error)) return false;
  path_ = file_.path();
  const auto process = process_payload(start_, options_.redact);
  file_.write_chunk(tf::ChunkType::Process, process.data(), process.size());
  code_.write_modules(file_, true);
  return true;
}

void Session::start_writer() {
  std::promise<bool> left;
  std::future<bool> has_left = left.get_future();
  writer_ = gs::detail::quiet_thread(
      [this, &left, creator_left = gs::detail::left_program_fds()] { run(left, creator_left); });
  if (has_left.get()) file_.close_program_copy();
}

void Session::finish() {
  stop_.store(true, std::memory_order_release);
  g_signals.wake.fetch_add(1);
  gs::detail::futex_wake(g_signals.wake);
  writer_.join();
}

Block* Session::take_block() {
  if (!pool_.empty()) {
    Block* b = pool_.back();
    pool_.pop_back();
    return b;
  }
  if (all_.size() >= max_blocks_) return nullptr;
  // Not make_unique: its value-initialization would zero 64 KiB a block on
  // a hooked thread (only [0, committed) is ever read); pages are touched
  // as events fill them instead.
  all_.push_back(std::unique_ptr<Block>(new Block));
  return all_.back().get();
}

void Session::top_up(ThreadStream& stream) {
  while (stream.free_blocks.size() < free_target_) {
    Block* b = take_block();
    if (b == nullptr) return;
    if (!stream.free_blocks.push(b)) {
      pool_.push_back(b);
      return;
    }
  }
}

void Session::release_blocks_locked() {
  for (ThreadStream* s : registered_streams_locked()) s->reset();
  pool_.clear();
  retained_.clear();
}

Stats Session::stats() const {
  Stats s;
  std::lock_guard<std::mutex> lock(g_registry_mutex);
  for (ThreadStream* t : registered_streams_locked()) {
    s.events += t->events();
    s.dropped += t->dropped();
    if (t->events() > 0) ++s.threads;
  }
  s.events += retired_events_;
  s.dropped += retired_dropped_;
  s.threads += retired_threads_;
  s.bytes = bytes_.load(std::memory_order_relaxed);
  return s;
}

std::string Session::next_dump_path() { return dumps_ == 0 && !path_.empty() ? path_ : trace_env::numbered(path_, dumps_ + 1); }

std::string Session::dump(const std::string& path) {
  std::unique_lock<std::mutex> lock(dump_mutex_);
  dump_cv_.wait(lock, [&] { return dump_done_; });
  dump_path_ = path;
  dump_done_ = false;
  g_signals.dump_requested.store(true);
  g_signals.wake.fetch_add(1);
  gs::detail::futex_wake(g_signals.wake);
  dump_cv_.wait(lock, [&] { return dump_done_; });
  return dump_result_;
}

// ---------------------------------------------------------------------------
// The writer thread
// ---------------------------------------------------------------------------

// run() is the writer thread. It leaves the program's fd table first
// (own_fd_table.h), keeping the trace file, and says whether it did.
void Session::run(std::promise<bool>& left, bool creator_left) {
  pthread_setname_np(pthread_self(), "gs-writer");
  // fd() is -1 for a flight recorder's, which keeps nothing.
  left.set_value(gs::detail::leave_program_fds({file_.fd()}, creator_left));  // `left` is gone after this
  std::uint64_t last_calibration = mono_ns();
  for (;;) {
    const std::uint32_t seen = g_signals.wake.load();
    const bool final = stop_.load(std::memory_order_acquire);
    tick(final, final ? kFinalSymbolWaitMs : kTickSymbolWaitMs);
    if (!flight_ && mono_ns() - last_calibration > 1000000000ull) {
      write_calibration(file_);
      last_calibration = mono_ns();
    }
    if (g_signals.dump_requested.exchange(false) && flight_) {
      std::string path;
      {
        std::lock_guard<std::mutex> lock(dump_mutex_);
        path = dump_path_;
      }
      do_dump(path);
    }
    if (g_signals.crash_flush_requested.exchange(false)) {
      // The tick above may have started before the crash's last events:
      // ship (or dump) once more, now that the request is seen.
      if (flight_) do_dump({}); else tick(false, kCrashSymbolWaitMs);
      g_signals.crash_flushes_done.fetch_add(1);
    }
    if (final) break;
    gs::detail::futex_wait(g_signals.wake, seen, std::chrono::milliseconds(options_.flush_interval_ms));
  }
  if (!flight_) {
    write_calibration(file_);
    write_end(file_, stats());
    bytes_.store(file_.bytes(), std::memory_order_relaxed);
    file_.close();
  }
}

// tick() ships (streaming) or retains (flight) every stream's full blocks,
// ships what open blocks committed, retires streams of exited threads and
// refills free rings. Strings and stacks are drained after the slices are
// taken, so that every id an event names was added before it (a hook adds,
// then commits) and is written before it.
void Session::tick(bool final, unsigned symbol_wait_ms) {
  std::vector<Slice> slices;
  std::vector<Block*> recycle;
  std::vector<ThreadStream*> streams, gone;
  {
    std::lock_guard<std::mutex> lock(g_registry_mutex);
    streams = registered_streams_locked();
  }
  for (ThreadStream* s : streams) {
    // Read before draining: a thread seen gone here wrote its last event.
    if (!s->exited.load(std::memory_order_acquire)) continue;
    gone.push_back(s);
    std::lock_guard<std::mutex> lock(g_registry_mutex);
    report_drops_for(*s);
  }
  for (ThreadStream* s : streams) {
    while (Block* b = s->full_blocks.pop()) {
      if (flight_) {
        retained_.push_back(b);
      } else {
        ship(*b, slices);
        recycle.push_back(b);
      }
    }
    if (!flight_) {
      if (Block* open = s->open_block.load(std::memory_order_acquire)) ship(*open, slices);
    }
  }
  if (!flight_) {
    announce_threads(file_, streams, false);
    const auto strings = strings_.payload(false);
    if (!strings.empty()) file_.write_chunk(tf::ChunkType::Strings, strings.data(), strings.size());
    code_.write_modules(file_, false);
    code_.write_new_stacks(file_);
    write_slices(file_, slices);
    run_infos_.write_new(file_);
    code_.collect_symbols(symbol_wait_ms);  // last: the events are on their way already
    code_.write_new_symbols(file_);
    bytes_.store(file_.bytes(), std::memory_order_relaxed);
    // Nothing more can be written: tracing stops (the hooks record nothing
    // more), and the program runs on at full speed.
    if (check_file_error(file_)) g_recording.store(false);
  } else {
    code_.collect_new_stacks();  // resolved ahead, so that a dump is quick
    code_.collect_symbols(symbol_wait_ms);
  }
  while (retained_.size() > retain_blocks_) {
    recycle.push_back(retained_.front());
    retained_.pop_front();
  }
  std::lock_guard<std::mutex> lock(g_registry_mutex);
  pool_.insert(pool_.end(), recycle.begin(), recycle.end());
  if (!final) {
    remove_streams_locked(gone, [&](ThreadStream& s) {
      retired_events_ += s.events();
      retired_dropped_ += s.dropped();
      if (s.events() > 0) ++retired_threads_;
      if (Block* open = s.open_block.load(std::memory_order_acquire)) {
        if (flight_) retained_.push_back(open); else pool_.push_back(open);
      }
      while (Block* b = s.free_blocks.pop()) pool_.push_back(b);
    });
  }
  top_up_fairly(registered_streams_locked());
}

// top_up_fairly() deals free blocks one at a time round the streams, so that
// when memory is short every thread gets some, not the first ones all.
void Session::top_up_fairly(const std::vector<ThreadStream*>& streams) {
  // Half the memory may wait in free rings; the rest is in flight to disk.
  free_target_ = std::clamp(max_blocks_ / (2 * std::max<std::size_t>(streams.size(), 1)), kMinFreeBlocksPerThread,
                            kMaxFreeBlocksPerThread);
  for (bool gave = true; gave;) {
    gave = false;
    for (ThreadStream* s : streams) {
      if (s->free_blocks.size() >= free_target_) continue;
      Block* b = take_block();
      if (b == nullptr) return;
      if (!s->free_blocks.push(b)) {
        pool_.push_back(b);
        continue;
      }
      gave = true;
    }
  }
}

void Session::report_drops_for(ThreadStream& stream) {
  if (!stream.has_pending_drops()) return;
  if (stream.free_blocks.size() == 0) give_report_block(stream);
  stream.report_pending_drops();
}

void Session::give_report_block(ThreadStream& stream) {
  Block* b = take_block();
  if (b == nullptr) {  // memory is spent: one more block per starved thread, for its last words
    all_.push_back(std::unique_ptr<Block>(new Block));
    b = all_.back().get();
  }
  stream.free_blocks.push(b);
}

// ship() queues the committed bytes of `b` not shipped yet.
void Session::ship(Block& b, std::vector<Slice>& slices) {
  const std::uint32_t end = b.committed.load(std::memory_order_acquire);
  if (end <= b.flushed) return;
  slices.push_back(Slice{&b, b.flushed, end});
  b.flushed = end;
}

void Session::write_slices(ChunkFile& file, const std::vector<Slice>& slices) {
  for (const Slice& s : slices) {
    tf::EventsRecord r{s.block->thread, s.block->seq, s.begin, 0};
    file.write_chunk(tf::ChunkType::Events,
                     {iovec{&r, sizeof r}, iovec{s.block->data + s.begin, s.end - s.begin}});
  }
}

void Session::announce_threads(ChunkFile& file, const std::vector<ThreadStream*>& streams, bool all) {
  for (ThreadStream* s : streams) {
    // Threads that recorded nothing in this session stay out of its file.
    // A stall names its hub's thread even if that thread recorded nothing.
    const bool referenced = s->referenced.load(std::memory_order_acquire);
    if ((s->announced && !all) || (s->events() == 0 && s->dropped() == 0 && !referenced)) continue;
    s->announced = true;
    PayloadBuilder b;
    b.record(tf::ThreadRecord{s->index(), 0, s->os_tid(), 0});
    b.string(s->name);
    file.write_chunk(tf::ChunkType::Thread, b.bytes().data(), b.bytes().size());
  }
}

void Session::write_calibration(ChunkFile& file) {
  const tf::CalibrationRecord c = calibration_point();
  file.write_chunk(tf::ChunkType::Calibration, &c, sizeof c);
}

void Session::write_end(ChunkFile& file, const Stats& stats) {
  const tf::EndRecord e{stats.events, stats.dropped, now()};
  file.write_chunk(tf::ChunkType::End, &e, sizeof e);
}

// check_file_error() says once that `file` could not be written; true if
// it could not.
bool Session::check_file_error(const ChunkFile& file) {
  if (file.error().empty()) return false;
  if (!error_reported_) {
    const gs::detail::ProgramStderr err;
    std::fprintf(stderr, "greenscope: %s; the rest of this trace is lost\n", file.error().c_str());
  }
  error_reported_ = true;
  return true;
}

// do_dump() writes a flight-recorder file: everything retained plus what
// each thread committed to its open block, and the whole string and stack
// tables (taken after the slices, as in tick()). Writer thread only.
void Session::do_dump(const std::string& requested) {
  const gs::detail::ProgramStderr err;  // what it says goes to the program's stderr of the moment
  const std::string path = requested.empty() ? next_dump_path() : requested;
  ++dumps_;
  ChunkFile file;
  std::string error;
  std::string result;
  if (file.open(path, tf::kFileFlagFlightDump, &error)) {
    const auto process = process_payload(start_, options_.redact);
    file.write_chunk(tf::ChunkType::Process, process.data(), process.size());
    std::vector<ThreadStream*> streams;
    {
      std::lock_guard<std::mutex> lock(g_registry_mutex);
      streams = registered_streams_locked();
    }
    // What each thread committed to its open block, then the blocks filled
    // since the last tick (in the full rings), which may by now include a
    // block that was open a moment ago: it is kept whole instead. Draining
    // first would lose a block filled between the drain and the look at the
    // open block.
    std::vector<Slice> open_slices;
    for (ThreadStream* s : streams) {
      if (Block* open = s->open_block.load(std::memory_order_acquire))
        open_slices.push_back(Slice{open, 0, open->committed.load(std::memory_order_acquire)});
    }
    std::vector<Block*> filled;
    if (flight_) {
      for (ThreadStream* s : streams)
        while (Block* b = s->full_blocks.pop()) filled.push_back(b);
    }
    retained_.insert(retained_.end(), filled.begin(), filled.end());
    std::vector<Slice> slices;
    for (Block* b : retained_) slices.push_back(Slice{b, 0, b->committed.load(std::memory_order_acquire)});
    for (const Slice& open : open_slices) {
      if (std::find(filled.begin(), filled.end(), open.block) == filled.end()) slices.push_back(open);
    }
    announce_threads(file, streams, true);
    const auto strings = strings_.payload(true);
    if (!strings.empty()) file.write_chunk(tf::ChunkType::Strings, strings.data(), strings.size());
    code_.write_all_stacks(file);
    write_slices(file, slices);
    run_infos_.write_kept(file);
    code_.write_all_symbols(file, kDumpSymbolWaitMs);
    write_calibration(file);
    write_end(file, stats());
    check_file_error(file);
    bytes_.fetch_add(file.bytes(), std::memory_order_relaxed);
    result = file.error().empty() ? file.path() : "";
    if (!result.empty()) std::fprintf(stderr, "greenscope: flight recorder dumped to %s\n", result.c_str());
  } else {
    std::fprintf(stderr, "greenscope: %s\n", error.c_str());
  }
  std::lock_guard<std::mutex> lock(dump_mutex_);
  dump_result_ = result;
  dump_done_ = true;
  dump_cv_.notify_all();
}

}  // namespace gs::trace::detail
