#include "extension_events.h"

#include "greenscope/stacks.h"
#include "hook_support.h"
#include "stack_table.h"

namespace gs::trace::detail {

static_assert(static_cast<int>(tf::StallOwner::Watcher) == static_cast<int>(gs::StallOwner::Watcher),
              "trace_format::StallOwner must mirror gs::StallOwner");
static_assert(static_cast<int>(tf::StallKind::Blocked) == static_cast<int>(gs::StallKind::Blocked),
              "trace_format::StallKind must mirror gs::StallKind");

namespace {

// Fields encodes an extension event's fields before its length is known.
class Fields {
 public:
  // kCapacity fits the largest: a Crash with kMaxRecordedFrames frames.
  static constexpr std::size_t kCapacity = 8 * kV + 2 + kMaxRecordedFrames * kV;
  static_assert(1 + 2 * kV + kCapacity <= ThreadStream::kMaxEventBytes);

  Fields& varint(std::uint64_t v) {
    p_ = tf::put_varint(p_, v);
    return *this;
  }
  Fields& zz(std::int64_t v) { return varint(tf::zigzag(v)); }
  Fields& byte(std::uint8_t b) {
    *p_++ = b;
    return *this;
  }
  const std::uint8_t* data() const { return buf_; }
  std::size_t size() const { return static_cast<std::size_t>(p_ - buf_); }

 private:
  std::uint8_t buf_[kCapacity];
  std::uint8_t* p_ = buf_;
};

// emit_extension() writes an event of tag `t` at clock reading `ticks`.
void emit_extension(ThreadStream& s, tf::Tag t, const Fields& f, std::uint64_t ticks = now()) {
  if (std::uint8_t* p = s.begin_event(tag(t), 1 + 2 * kV + f.size(), ticks)) {
    p = tf::put_varint(p, f.size());
    std::memcpy(p, f.data(), f.size());
    s.end_event(p + f.size());
  }
}

// stack_id() is the session's id for a stack the runtime handed over.
std::uint32_t stack_id(ThreadStream& s, const std::uintptr_t* frames, std::size_t n) {
  StackTable* table = stack_table();
  return table == nullptr ? 0 : cached_stack_id(s.stacks, *table, frames, n);
}

// watcher_of() is the report's watcher kind, for a report that names one
// (StallBegin carries the byte in every case; it means something only for
// a Watcher owner).
template <class Report>
std::uint8_t watcher_of(const Report& r) {
  if constexpr (requires { r.watcher; }) return static_cast<std::uint8_t>(r.watcher);
  else return 0;
}

}  // namespace

void hide_wait_stack_frames() { gs::detail::hide_frames_of(reinterpret_cast<const void*>(&wait_stack_event)); }

void wait_stack_event(ThreadStream& s, const std::uintptr_t* frames, std::size_t n, std::uint64_t t) {
  const std::uint32_t id = stack_id(s, frames, n);
  if (id == 0) return;
  // Written by hand, not through Fields: this is on every wait's path.
  if (std::uint8_t* p = s.begin_event(tag(tf::Tag::WaitStack), 2 + 2 * kV, t)) {
    std::uint8_t* end = tf::put_varint(p + 1, id);
    *p = static_cast<std::uint8_t>(end - (p + 1));  // the length: a varint of one byte
    s.end_event(end);
  }
}

void record_stall_begin(ThreadStream& s, const StallReport& r) {
  // A thread that never recorded (tracing began mid-stall) has no index.
  std::uint32_t thread = UINT32_MAX;
  thread_index_of(r.tid, &thread);
  emit_extension(s, tf::Tag::StallBegin,
                 Fields()
                     .varint(r.id)
                     .varint(thread)
                     .varint(r.start_ticks)
                     .varint(r.owner == StallOwner::Greenlet ? r.greenlet_id : 0)
                     .byte(static_cast<std::uint8_t>(r.owner))
                     .byte(watcher_of(r)));
}

void record_stall_sample(ThreadStream& s, const StallReport& r, const StallSample& sample) {
  const std::uint32_t id = stack_id(s, sample.stack.data(), sample.stack.size());
  // The event's time is when the sample was taken (a reader places it so),
  // which may be a while before the monitor hands it over; never before
  // this stream's previous event.
  const std::uint64_t taken = std::max(s.last_ticks(), ticks_at_mono(sample.mono_ns));
  emit_extension(s, tf::Tag::StallSample,
                 Fields().varint(r.id).varint(id).byte(sample.in_syscall ? 1 : 0).zz(sample.in_syscall ? sample.syscall : -1),
                 taken);
}

void record_stall_end(ThreadStream& s, const StallReport& r) {
  emit_extension(s, tf::Tag::StallEnd,
                 Fields()
                     .varint(r.id)
                     .varint(r.ended ? r.end_ticks : 0)
                     .varint(static_cast<std::uint64_t>(std::max<std::int64_t>(r.cpu_time.count(), 0)))
                     .varint(static_cast<std::uint64_t>(std::max<std::int64_t>(r.cpu_window.count(), 0)))
                     .byte(static_cast<std::uint8_t>(r.kind))
                     .zz(r.syscall)
                     .zz(r.run_delay.count())
                     .varint(static_cast<std::uint64_t>(std::max<std::int64_t>(r.threshold.count(), 0))));
}

void record_loop_lag(ThreadStream& s, std::int64_t lag_ns) {
  emit_extension(s, tf::Tag::LoopLag, Fields().varint(static_cast<std::uint64_t>(std::max<std::int64_t>(lag_ns, 0))));
}

void record_blocking_call(ThreadStream& s, std::uint32_t call, int fd, std::int64_t duration_ns,
                          const std::uintptr_t* stack, std::size_t depth) {
  const std::uint32_t id = stack_id(s, stack, depth);
  emit_extension(s, tf::Tag::BlockingCall,
                 Fields().varint(call).zz(fd).varint(static_cast<std::uint64_t>(std::max<std::int64_t>(duration_ns, 0))).varint(id));
}

void record_crash(ThreadStream& s, int sig, std::uintptr_t fault_address, std::uint64_t greenlet_id, bool overflow,
                  const std::uintptr_t* stack, std::size_t depth) {
  depth = std::min(depth, kMaxRecordedFrames);
  Fields f;
  f.varint(static_cast<std::uint64_t>(sig)).varint(fault_address).varint(greenlet_id);
  f.byte(overflow ? tf::kCrashStackOverflow : 0).varint(depth);
  for (std::size_t i = 0; i < depth; ++i) f.varint(stack[i]);
  emit_extension(s, tf::Tag::Crash, f);
  if (StackTable* table = stack_table(); table != nullptr && depth > 0) table->note_addresses(stack, depth);
}

}  // namespace gs::trace::detail
