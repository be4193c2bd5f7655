// follower.cpp: Follower (traceio.h), a trace file read while it grows.
// The chunk walk and the block decoder are the loader's; what is new is
// that both stop where the file does and go on from there: the walk before
// a chunk the writer has not finished, the decoder at the end of a slice
// (the writer ships whole events), keeping each thread's DecoderState.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>

#include "block_decoder.h"
#include "clock_fit.h"
#include "greenlets.h"
#include "load_state.h"

namespace gs::traceio {

namespace tf = trace_format;

namespace {

// kMinWindow: the least a poll reads at once; the window doubles while not
// one whole chunk fits in it (a chunk can be 16 MiB).
constexpr std::uint64_t kMinWindow = 64u << 10;

}  // namespace

struct Follower::State {
  // OpenBlock is where one thread's block stands: its number, the bytes of
  // it decoded, and the decoder's state after them.
  struct OpenBlock {
    std::uint32_t seq = 0;
    std::uint64_t decoded = 0;  // bytes of the block
    bool dead = false;          // damage cut it: the rest of it is skipped
    detail::DecoderState ds;
  };

  std::string path;
  int fd = -1;
  dev_t dev = 0;
  ino_t ino = 0;
  bool started = false, at_end = false, replaced = false;
  std::uint64_t offset = 0;  // where the next walk begins
  detail::LoadState load;
  std::vector<std::uint8_t> buffer;
  std::optional<detail::ClockFit> clock;
  std::uint64_t anchor = 0;
  std::size_t fitted_calibrations = 0;
  bool fitted_process = false;
  std::uint64_t frontier = 0;  // the largest tick count decoded
  std::map<std::uint32_t, OpenBlock> blocks;  // by thread
  std::size_t run_infos_timed = 0;
  bool have_bounds = false;
  std::vector<std::uint64_t> touched;
  bool tables_changed = false;

  ~State() {
    if (fd >= 0) ::close(fd);
  }

  // read_at() fills `buffer` with file bytes [from, to); false on a short read.
  bool read_at(std::uint64_t from, std::uint64_t to) {
    buffer.resize(static_cast<std::size_t>(to - from));
    std::size_t got = 0;
    while (got < buffer.size()) {
      const ssize_t n = ::pread(fd, buffer.data() + got, buffer.size() - got, static_cast<off_t>(from + got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      got += static_cast<std::size_t>(n);
    }
    return true;
  }

  void fit_clock();
  void decode_slice(const detail::Slice& slice);
};

// fit_clock() fits the clock once there is something to fit, and refits it
// from the frontier on when calibration arrived since.
void Follower::State::fit_clock() {
  if (!clock) {
    if (load.slices.empty() && !load.have_process) return;
    anchor = detail::time_anchor(load.slices);
  } else if (load.calibrations.size() == fitted_calibrations && load.have_process == fitted_process) {
    return;
  }
  detail::ClockFit fit = detail::ClockFit::fit(load, anchor);
  if (!clock) {
    clock = fit;
  } else {
    clock->continue_at(frontier, fit);
  }
  fitted_calibrations = load.calibrations.size();
  fitted_process = load.have_process;
}

// decode_slice() decodes one Events chunk's bytes, going on with its
// thread's block or beginning the next one.
void Follower::State::decode_slice(const detail::Slice& slice) {
  const std::string where = "thread " + std::to_string(slice.thread) + " block " + std::to_string(slice.block_seq);
  auto [it, first] = blocks.try_emplace(slice.thread);
  OpenBlock& b = it->second;
  bool at_start = false;
  if (first || slice.block_seq > b.seq) {
    b = OpenBlock{slice.block_seq, 0, false, {}};
    at_start = true;
  } else if (slice.block_seq < b.seq) {
    load.problem(slice.file_offset, where + ": its bytes came after the thread's block " + std::to_string(b.seq) +
                                        " had begun; a followed trace cannot go back, they are skipped (reopen "
                                        "the file to read them)");
    return;
  }
  if (b.dead) return;
  const std::uint64_t end = std::uint64_t{slice.offset} + slice.size;
  if (slice.offset > b.decoded) {
    load.problem(slice.file_offset, where + ": block bytes " + std::to_string(b.decoded) + ".." +
                                        std::to_string(slice.offset) +
                                        " are missing (a slice was lost or damaged); the rest of the block is lost");
    b.dead = true;
    return;
  }
  if (end <= b.decoded) return;  // a slice shipped twice
  const auto skip = static_cast<std::size_t>(b.decoded - slice.offset);
  detail::BlockBytes bytes{slice.thread, slice.block_seq, slice.data + skip, slice.size - skip,
                           {detail::BlockPiece{0, slice.file_offset + skip}}};
  at_start = at_start && skip == 0;
  if (!detail::decode_block_part(bytes, at_start, *clock, load, b.ds)) b.dead = true;
  b.decoded = end;
  frontier = std::max(frontier, b.ds.ticks);
}

Follower::Follower(std::string path) : s_(std::make_unique<State>()), trace_(std::make_shared<Trace>()) {
  s_->path = std::move(path);
  s_->load.path = s_->path;
  trace_->path_ = s_->path;
}

Follower::~Follower() = default;

bool Follower::started() const { return s_->started; }
std::uint64_t Follower::offset() const { return s_->offset; }
bool Follower::at_end() const { return s_->at_end; }
bool Follower::replaced() const { return s_->replaced; }
const std::vector<std::uint64_t>& Follower::touched_greenlets() const { return s_->touched; }
bool Follower::tables_changed() const { return s_->tables_changed; }

// read_header() reads the file header once the file holds it: "" (with
// started() true, or false to wait) or why the file cannot be followed.
std::string Follower::read_header() {
  State& s = *s_;
  tf::FileHeader h{};
  std::uint8_t bytes[sizeof h] = {};
  const ssize_t n = ::pread(s.fd, bytes, sizeof bytes, 0);
  if (n < 0) return s.path + ": cannot read: " + std::strerror(errno);
  const std::string error = detail::check_header(bytes, static_cast<std::size_t>(n), h);
  if (!error.empty()) {
    // A writer that has not written its header yet is not an error.
    const bool partial = static_cast<std::size_t>(n) < sizeof h &&
                         std::memcmp(bytes, tf::kFileMagic, std::min(static_cast<std::size_t>(n), sizeof tf::kFileMagic)) == 0;
    return partial ? "" : s.path + ": " + error;
  }
  s.load.process.major = h.major;
  s.load.process.minor = h.minor;
  s.load.process.flight_dump = (h.flags & tf::kFileFlagFlightDump) != 0;
  s.offset = h.header_size;
  s.started = true;
  return "";
}

std::string Follower::poll(std::uint64_t max_bytes) {
  State& s = *s_;
  s.touched.clear();
  s.tables_changed = false;
  for (ThreadInfo& t : trace_->threads_) std::vector<Event>().swap(t.events);  // handed out
  if (s.replaced) return "";
  if (s.fd < 0) {
    s.fd = ::open(s.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (s.fd < 0) return errno == ENOENT ? "" : s.path + ": cannot open: " + std::strerror(errno);
    struct stat st {};
    if (::fstat(s.fd, &st) != 0 || S_ISDIR(st.st_mode)) {
      ::close(s.fd);
      s.fd = -1;
      return s.path + ": cannot follow: " + std::strerror(S_ISDIR(st.st_mode) ? EISDIR : errno);
    }
    s.dev = st.st_dev;
    s.ino = st.st_ino;
  }
  struct stat now {};
  if (::stat(s.path.c_str(), &now) == 0 && (now.st_dev != s.dev || now.st_ino != s.ino)) {
    s.replaced = true;
    return "";
  }
  struct stat st {};
  if (::fstat(s.fd, &st) != 0) return s.path + ": cannot read: " + std::strerror(errno);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (s.started && size < s.offset) {
    s.replaced = true;
    return "";
  }
  if (!s.started) {
    const std::string error = read_header();
    if (!error.empty() || !s.started) return error;
  }
  s.at_end = true;
  if (size <= s.offset) return "";
  std::uint64_t window = std::max(kMinWindow, std::min(max_bytes, size - s.offset));
  std::uint64_t next = s.offset;
  for (;;) {
    const std::uint64_t to = std::min(size, s.offset + window);
    if (!s.read_at(s.offset, to)) return "";  // cut under us: the next poll sees why
    next = detail::walk_new_chunks(s.buffer.data(), s.offset, to, s.load);
    if (next > s.offset || to == size) {
      s.at_end = to == size;
      break;
    }
    window *= 2;  // not one whole chunk in the window: a bigger one
  }
  s.offset = next;
  s.load.file_size = s.load.stats.file_bytes = next;
  decode_new();
  update_trace();
  return "";
}

// decode_new() decodes the slices the last walk found, in file order.
void Follower::decode_new() {
  State& s = *s_;
  s.fit_clock();
  if (s.clock) {
    for (const detail::Slice& slice : s.load.slices) s.decode_slice(slice);
  }
  s.load.slices.clear();  // they point into the buffer
}

// update_trace() brings trace_ up to date with the state: the new events
// handed out, every table as it now is.
void Follower::update_trace() {
  State& s = *s_;
  detail::LoadState& load = s.load;
  Trace& t = *trace_;
  t.process_ = load.process;
  for (auto& [index, info] : load.threads) {
    auto it = std::lower_bound(t.threads_.begin(), t.threads_.end(), index,
                               [](const ThreadInfo& x, std::uint32_t i) { return x.index < i; });
    if (it == t.threads_.end() || it->index != index) it = t.threads_.insert(it, ThreadInfo{});
    it->index = index;
    it->os_tid = info.os_tid;
    it->name = info.name;
    it->has_hub = info.has_hub;
    it->hub_greenlet = info.hub_greenlet;
    it->main_greenlet = info.main_greenlet;
    it->events = std::move(info.events);
    info.events = {};
  }
  for (std::size_t i = t.texts_.size(); i < load.texts.size(); ++i) t.texts_.push_back(load.texts.at(i));
  detail::GreenletTable greenlets(load.texts, t.greenlets_, &s.touched);
  for (const ThreadInfo& th : t.threads_) {
    for (const Event& e : th.events) greenlets.add(th.index, e);
    if (th.events.empty()) continue;
    t.begin_ns_ = s.have_bounds ? std::min(t.begin_ns_, th.events.front().time_ns) : th.events.front().time_ns;
    t.end_ns_ = s.have_bounds ? std::max(t.end_ns_, th.events.back().time_ns) : th.events.back().time_ns;
    s.have_bounds = true;
  }
  t.stats_ = load.stats;
  t.stalls_ = detail::stall_list(load.stalls, load.stall_end_records, t.end_ns_);
  t.problems_ = load.problems;
  std::stable_sort(t.problems_.begin(), t.problems_.end(),
                   [](const Problem& x, const Problem& y) { return x.offset < y.offset; });
  if (load.problems_suppressed > 0) {
    t.problems_.push_back(Problem{load.file_size, "... and " + std::to_string(load.problems_suppressed) +
                                                      " more problems not listed"});
  }
  t.crashes_ = load.crashes;
  std::stable_sort(t.crashes_.begin(), t.crashes_.end(),
                   [](const CrashInfo& x, const CrashInfo& y) { return x.time_ns < y.time_ns; });
  update_tables();
}

// update_tables() copies the modules, stacks and symbols when they grew
// (they are written once each, so that is seldom), and times the run-info
// dumps once the clock is known.
void Follower::update_tables() {
  State& s = *s_;
  detail::LoadState& load = s.load;
  Trace& t = *trace_;
  if (load.modules.size() != t.modules_.size()) {
    t.modules_.clear();
    for (const auto& [id, module] : load.modules) t.modules_.push_back(module);
    s.tables_changed = true;
  }
  if (load.stacks.size() != t.stacks_.size()) {
    t.stacks_ = load.stacks;
    s.tables_changed = true;
  }
  if (load.symbols.size() != t.symbols_.size()) {
    t.symbols_ = load.symbols;
    s.tables_changed = true;
  }
  if (!s.clock || s.run_infos_timed == load.run_infos.size()) return;
  for (; s.run_infos_timed < load.run_infos.size(); ++s.run_infos_timed) {
    auto& [ticks, dump] = load.run_infos[s.run_infos_timed];
    dump.time_ns = s.clock->since_start(ticks);
    t.run_infos_.push_back(dump);
  }
  std::stable_sort(t.run_infos_.begin(), t.run_infos_.end(),
                   [](const RunInfoDump& x, const RunInfoDump& y) { return x.time_ns < y.time_ns; });
}

}  // namespace gs::traceio
