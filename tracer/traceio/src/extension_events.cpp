// extension_events.cpp: decode_extension() (extension_events.h). The events
// of one stall come from the monitor thread's stream (StallBegin names the
// stalled hub's thread); they are joined by stall id into LoadState::stalls,
// which finish_stalls() completes once every block is decoded.
#include "extension_events.h"

#include <algorithm>
#include <climits>

namespace gs::traceio::detail {
namespace {

namespace tf = trace_format;
using tf::Tag;

class ExtensionDecoder {
 public:
  ExtensionDecoder(ExtensionInput& in, const ClockFit& clock, LoadState& state, Event& e, std::string& why)
      : in_(in), f_(in.fields), clock_(clock), state_(state), e_(e), why_(why) {}

  ExtensionResult run() {
    bool ok = false;
    switch (static_cast<Tag>(in_.tag)) {
      case Tag::WaitStack: ok = wait_stack(); break;
      case Tag::StallBegin: ok = stall_begin(); break;
      case Tag::StallSample: ok = stall_sample(); break;
      case Tag::StallEnd: ok = stall_end(); break;
      case Tag::LoopLag: ok = loop_lag(); break;
      case Tag::BlockingCall: ok = blocking_call(); break;
      case Tag::Crash: ok = crash(); break;
      default: return ExtensionResult::Unknown;
    }
    if (!ok && why_.empty()) why_ = "its fields do not fit its length";
    return ok ? ExtensionResult::Decoded : ExtensionResult::Malformed;
  }

 private:
  bool stack_id(std::uint64_t& id) {
    if (!f_.varint(id)) return false;
    state_.use_stack(id, in_.offset);
    return true;
  }

  // small() reads a zigzag varint that must fit an int (a syscall number).
  bool small(int& out) {
    std::uint64_t v = 0;
    if (!f_.varint(v)) return false;
    const std::int64_t n = tf::unzigzag(v);
    if (n < INT_MIN || n > INT_MAX) return false;
    out = static_cast<int>(n);
    return true;
  }

  // ns() reads a duration in ns, which must fit an int64_t.
  bool ns(std::int64_t& out) {
    std::uint64_t v = 0;
    if (!f_.varint(v) || v > INT64_MAX) return false;
    out = static_cast<std::int64_t>(v);
    return true;
  }

  // stall() is the entry for stall `id`, created by whichever of its events
  // comes first (its StallBegin may be lost).
  StallInfo& stall(std::uint64_t id) {
    auto [it, added] = state_.stalls.try_emplace(id);
    if (added) {
      it->second.id = id;
      it->second.start_ns = e_.time_ns;
      it->second.monitor_thread = in_.thread;
    }
    return it->second;
  }

  bool wait_stack() {
    e_.type = EventType::WaitStack;
    return stack_id(e_.a);
  }

  bool stall_begin() {
    e_.type = EventType::StallBegin;
    std::uint64_t thread = 0, ticks = 0, greenlet = 0;
    std::uint8_t owner = 0, watcher = 0;
    if (!(f_.varint(e_.a) && f_.varint(thread) && f_.varint(ticks) && f_.varint(greenlet) && f_.u8(owner))) {
      return false;
    }
    if (thread > UINT32_MAX) {
      why_ = "thread index " + std::to_string(thread);
      return false;
    }
    // The watcher kind is written for every owner; a writer that wrote it
    // only for watchers would still read.
    if (!f_.at_end()) f_.u8(watcher);
    e_.b = thread;
    e_.c = clock_.since_start(ticks);
    e_.code = owner;
    e_.d = watcher;
    StallInfo& s = stall(e_.a);
    if (s.has_begin) return true;  // a repeat: the first one stands
    s.has_begin = true;
    s.thread = static_cast<std::uint32_t>(thread);
    s.monitor_thread = in_.thread;
    s.start_ns = e_.c;
    s.greenlet = greenlet;
    s.owner = static_cast<StallOwner>(owner);
    s.watcher = static_cast<WatcherKind>(watcher);
    return true;
  }

  bool stall_sample() {
    e_.type = EventType::StallSample;
    StallSampleInfo sample;
    std::uint8_t in_syscall = 0;
    if (!(f_.varint(e_.a) && stack_id(sample.stack) && f_.u8(in_syscall) && small(sample.syscall))) return false;
    sample.time_ns = e_.time_ns;
    sample.in_syscall = in_syscall != 0;
    e_.b = sample.stack;
    e_.code = in_syscall;
    e_.c = sample.syscall;
    stall(e_.a).samples.push_back(sample);
    return true;
  }

  bool stall_end() {
    e_.type = EventType::StallEnd;
    std::uint64_t ticks = 0;
    std::int64_t cpu = 0, window = 0;
    std::uint8_t kind = 0;
    int syscall = -1;
    if (!(f_.varint(e_.a) && f_.varint(ticks) && ns(cpu) && ns(window) && f_.u8(kind) && small(syscall))) {
      return false;
    }
    // Since 2.2: the run delay over the window; older writers leave it out.
    std::int64_t run_delay = -1;
    if (!f_.at_end()) {
      std::uint64_t v = 0;
      if (!f_.varint(v)) return false;
      run_delay = std::max<std::int64_t>(-1, tf::unzigzag(v));
    }
    // Since 2.3: the monitor's threshold.
    std::int64_t threshold = 0;
    if (!f_.at_end() && !ns(threshold)) return false;
    e_.b = static_cast<std::uint64_t>(cpu);
    e_.c = ticks == 0 ? -1 : clock_.since_start(ticks);
    e_.code = kind;
    StallInfo& s = stall(e_.a);
    if (s.has_end) return true;
    s.has_end = true;
    s.end_ns = e_.c;
    s.cpu_ns = cpu;
    s.cpu_window_ns = window;
    s.kind = static_cast<StallKind>(kind);
    s.syscall = syscall;
    s.run_delay_ns = run_delay;
    s.threshold_ns = threshold;
    state_.stall_end_records[e_.a] = e_.time_ns;
    return true;
  }

  bool loop_lag() {
    e_.type = EventType::LoopLag;
    return ns(e_.c);
  }

  bool blocking_call() {
    e_.type = EventType::BlockingCall;
    std::uint64_t call = 0, fd = 0;
    std::int64_t duration = 0;
    if (!(f_.varint(call) && f_.varint(fd) && ns(duration) && stack_id(e_.a))) return false;
    e_.str = in_.string(call);
    e_.c = tf::unzigzag(fd);
    e_.b = static_cast<std::uint64_t>(duration);
    return true;
  }

  // crash() files the crash's inline frames as a stack of its own, so that
  // a crash shows its stack as stalls and waits do.
  bool crash() {
    e_.type = EventType::Crash;
    std::uint64_t signal = 0, address = 0, greenlet = 0, count = 0;
    std::uint8_t flags = 0;
    if (!(f_.varint(signal) && f_.varint(address) && f_.varint(greenlet) && f_.u8(flags) && f_.varint(count))) {
      return false;
    }
    if (signal > 0xFFFF || greenlet > INT64_MAX) return false;
    if (count > tf::kMaxStackFrames) {
      why_ = std::to_string(count) + " frames, over the limit of " + std::to_string(tf::kMaxStackFrames);
      return false;
    }
    std::vector<std::uint64_t> frames(static_cast<std::size_t>(count));
    for (std::uint64_t& address_i : frames) {
      if (!f_.varint(address_i)) return false;
    }
    CrashInfo c;
    c.time_ns = e_.time_ns;
    c.thread = in_.thread;
    c.signal = static_cast<int>(signal);
    c.fault_address = address;
    c.greenlet = greenlet;
    c.stack_overflow = (flags & tf::kCrashStackOverflow) != 0;
    c.stack = frames.empty() ? 0 : state_.add_synthetic_stack(std::move(frames));
    state_.crashes.push_back(c);
    e_.a = c.stack;
    e_.b = address;
    e_.c = static_cast<std::int64_t>(greenlet);
    e_.d = static_cast<std::uint16_t>(signal);
    e_.code = flags;
    return true;
  }

  ExtensionInput& in_;
  ByteReader& f_;
  const ClockFit& clock_;
  LoadState& state_;
  Event& e_;
  std::string& why_;
};

}  // namespace

ExtensionResult decode_extension(ExtensionInput& in, const ClockFit& clock, LoadState& state, Event& e,
                                 std::string& why) {
  return ExtensionDecoder(in, clock, state, e, why).run();
}

}  // namespace gs::traceio::detail
