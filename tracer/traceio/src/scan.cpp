// scan.cpp: scan() (traceio.h), a load() in memory bounded by the trace's
// tables. The same steps as load() (walk, decode, build), with two changes:
// the walk reads the file a window at a time (FileSource) and keeps only
// where each Events chunk's bytes are; decoding reads each block back and
// drops its events once counted. Events for a sink come from a second
// decoding, from a copy of the state as the walk left it, so that they are
// exactly the first one's (texts interned in the same order, the same ids).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>
#include <set>

#include "chunk_source.h"
#include "clock_fit.h"
#include "greenlets.h"
#include "load_state.h"
#include "progress.h"

namespace gs::traceio {
namespace detail {
namespace {

namespace tf = trace_format;

// Fd closes its descriptor on every return path.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// BlockReader decodes a block from its slices' bytes, read back from the
// file: the walk kept only their offsets.
class BlockReader {
 public:
  explicit BlockReader(int fd) : fd_(fd) {}

  void decode(LoadState& state, const ClockFit& clock, const Slice* first, const Slice* last) {
    std::size_t total = 0;
    for (const Slice* s = first; s != last; ++s) total += s->size;
    bytes_.resize(total);
    slices_.assign(first, last);
    std::size_t at = 0;
    for (Slice& s : slices_) {
      FileSource::read_exactly(fd_, s.file_offset, s.size, bytes_.data() + at);
      s.data = bytes_.data() + at;
      at += s.size;
    }
    decode_block_slices(state, clock, slices_.data(), slices_.data() + slices_.size());
  }

 private:
  int fd_;
  std::vector<std::uint8_t> bytes_;
  std::vector<Slice> slices_;
};

// ThreadTally is what the first decoding learns of one thread's events.
struct ThreadTally {
  std::uint64_t count = 0;
  std::int64_t last = 0, min = 0, max = 0;
  bool sorted = true;  // each event at or after the one before: load() would not sort them

  void add(const std::vector<Event>& events) {
    for (const Event& e : events) {
      if (count > 0 && e.time_ns < last) sorted = false;
      min = count == 0 ? e.time_ns : std::min(min, e.time_ns);
      max = count == 0 ? e.time_ns : std::max(max, e.time_ns);
      last = e.time_ns;
      ++count;
    }
  }
};

// GreenletSink builds the greenlet table from an event pass (a trace with a
// thread out of time order: the table wants each thread's events sorted).
class GreenletSink final : public EventSink {
 public:
  explicit GreenletSink(GreenletTable& table) : table_(table) {}
  void events(const ThreadInfo& thread, std::span<const Event> events) override {
    for (const Event& e : events) table_.add(thread.index, e);
  }

 private:
  GreenletTable& table_;
};

class Scanner {
 public:
  Scanner(int fd, const LoadOptions& options) : fd_(fd), progress_(options), reader_(fd) {}

  LoadResult run(const std::string& path, std::size_t size, EventSink* sink) {
    std::string error = read_header(size);
    if (!error.empty()) return {nullptr, path + ": " + error};
    state_.path = path;
    state_.file_size = size;
    state_.stats.file_bytes = size;
    begin_read(header_, state_);
    if (header_.header_size <= size) {
      FileSource source(fd_, size);
      walk_chunks(source, header_.header_size, state_);
    }
    progress_.reading(size, size);
    end_walk(state_);
    const ClockFit clock = prepare_decode(state_);
    LoadState replay = decoding_copy(state_);
    count_events(clock);
    if (!unsorted_.empty()) rebuild_greenlets(decoding_copy(replay), clock);
    end_decode(state_);
    std::unique_ptr<Trace> trace = build_trace(state_);
    progress_.finish();
    if (sink != nullptr) {
      sink->start(*trace);
      pass(replay, clock, *trace, *sink);
    }
    return {std::move(trace), ""};
  }

 private:
  std::string read_header(std::size_t size) {
    std::uint8_t bytes[sizeof(tf::FileHeader)] = {};
    const std::size_t n = std::min(size, sizeof bytes);
    FileSource::read_exactly(fd_, 0, n, bytes);
    return check_header(bytes, n, header_);
  }

  // for_each_block() calls fn(first, last) for each block's slices.
  template <typename Fn>
  void for_each_block(const std::vector<Slice>& slices, std::size_t from, std::size_t to, Fn&& fn) {
    for (std::size_t i = from; i < to;) {
      std::size_t j = i + 1;
      while (j < to && slices[j].thread == slices[i].thread && slices[j].block_seq == slices[i].block_seq) ++j;
      fn(&slices[i], &slices[j - 1] + 1);
      i = j;
    }
  }

  // count_events() is the first decoding: every table but the events, and
  // the bounds, greenlets, and which threads are out of time order.
  void count_events(const ClockFit& clock) {
    GreenletTable greenlets(state_.texts, state_.greenlets);
    std::map<std::uint32_t, ThreadTally> tallies;
    std::uint64_t done = 0;
    for_each_block(state_.slices, 0, state_.slices.size(), [&](const Slice* first, const Slice* last) {
      reader_.decode(state_, clock, first, last);
      std::vector<Event>& events = state_.thread(first->thread).events;
      tallies[first->thread].add(events);
      for (const Event& e : events) greenlets.add(first->thread, e);
      events.clear();
      for (const Slice* s = first; s != last; ++s) done += s->size;
      progress_.decoding(done, state_.stats.event_bytes);
    });
    state_.greenlets_built = true;
    bool any = false;
    for (const auto& [index, t] : tallies) {
      state_.thread(index).event_total = t.count;
      if (!t.sorted) unsorted_.insert(index);
      if (t.count == 0) continue;
      state_.begin_ns = any ? std::min(state_.begin_ns, t.min) : t.min;
      state_.end_ns = any ? std::max(state_.end_ns, t.max) : t.max;
      any = true;
    }
  }

  void rebuild_greenlets(LoadState replay, const ClockFit& clock) {
    state_.greenlets.clear();
    GreenletTable table(replay.texts, state_.greenlets);
    GreenletSink sink(table);
    std::vector<const ThreadInfo*> threads;
    for (const auto& [index, t] : state_.threads) threads.push_back(&t);
    pass(replay, clock, threads, sink);
  }

  void pass(LoadState& replay, const ClockFit& clock, const Trace& trace, EventSink& sink) {
    std::vector<const ThreadInfo*> threads;
    for (const ThreadInfo& t : trace.threads()) threads.push_back(&t);
    pass(replay, clock, threads, sink);
  }

  // pass() decodes `replay` again, thread by thread, and hands the events
  // to `sink`: each block's as it is decoded, a thread out of time order
  // whole and sorted.
  void pass(LoadState& replay, const ClockFit& clock, const std::vector<const ThreadInfo*>& threads,
            EventSink& sink) {
    const std::vector<Slice>& slices = replay.slices;
    std::size_t from = 0;
    for (const ThreadInfo* t : threads) {
      while (from < slices.size() && slices[from].thread < t->index) ++from;
      std::size_t to = from;
      while (to < slices.size() && slices[to].thread == t->index) ++to;
      sink.begin_thread(*t);
      const bool hold = unsorted_.contains(t->index);
      std::vector<Event> held;
      for_each_block(slices, from, to, [&](const Slice* first, const Slice* last) {
        reader_.decode(replay, clock, first, last);
        std::vector<Event>& events = replay.thread(t->index).events;
        if (hold) {
          held.insert(held.end(), events.begin(), events.end());
        } else if (!events.empty()) {
          sink.events(*t, events);
        }
        events.clear();
      });
      if (hold) {
        std::stable_sort(held.begin(), held.end(), [](const Event& x, const Event& y) { return x.time_ns < y.time_ns; });
        if (!held.empty()) sink.events(*t, held);
      }
      sink.end_thread(*t);
      from = to;
    }
  }

  int fd_;
  Progress progress_;
  BlockReader reader_;
  tf::FileHeader header_{};
  LoadState state_;
  std::set<std::uint32_t> unsorted_;
};

}  // namespace

// load_whole() is scan() for what cannot be read twice (a pipe): load() it,
// hand the events on, and keep none.
LoadResult load_whole(const std::string& path, const LoadOptions& options, EventSink* sink) {
  LoadResult result = load(path, options);
  if (!result.trace) return result;
  std::unique_ptr<Trace> tables = result.trace->without_events();
  if (sink != nullptr) {
    sink->start(*tables);
    for (const ThreadInfo& t : result.trace->threads()) {
      sink->begin_thread(*tables->thread(t.index));
      if (!t.events.empty()) sink->events(*tables->thread(t.index), t.events);
      sink->end_thread(*tables->thread(t.index));
    }
  }
  return {std::move(tables), ""};
}

}  // namespace detail

LoadResult scan(const std::string& path, const LoadOptions& options, EventSink* sink) {
  try {
    detail::Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (file.fd < 0) return {nullptr, path + ": cannot open: " + std::strerror(errno)};
    struct stat st {};
    if (::fstat(file.fd, &st) != 0) return {nullptr, path + ": cannot open: " + std::strerror(errno)};
    if (S_ISDIR(st.st_mode)) return {nullptr, path + ": cannot open: " + std::strerror(EISDIR)};
    if (!S_ISREG(st.st_mode)) return detail::load_whole(path, options, sink);
    return detail::Scanner(file.fd, options).run(path, static_cast<std::size_t>(st.st_size), sink);
  } catch (const std::bad_alloc&) {
    return {nullptr, path + ": out of memory while loading the trace"};
  }
}

}  // namespace gs::traceio
