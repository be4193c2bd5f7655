// recorder.cpp: each runtime hook becomes one event in the calling thread's
// stream. Hooks never block, allocate (past a thread's first event) or take
// a lock (past a static string's or a stack's first use on a thread). The
// stall, crash and run-info hooks are the exception: they run off the hot
// path (the monitor thread, or rarely), and may lock.
#include "recorder.h"

#include <algorithm>
#include <cstring>

#include "extension_events.h"
#include "greenscope/hub.h"
#include "hook_support.h"

namespace gs::trace::detail {

static_assert(static_cast<int>(tf::Reason::LoopExit) == static_cast<int>(SwitchReason::LoopExit) &&
                  static_cast<int>(tf::Reason::Timeout) == static_cast<int>(SwitchReason::Timeout) &&
                  static_cast<int>(tf::Reason::Io) == static_cast<int>(SwitchReason::Io),
              "trace_format::Reason must mirror gs::SwitchReason");
static_assert(static_cast<int>(tf::ExitKind::NeverStarted) == static_cast<int>(gs::ExitKind::NeverStarted),
              "trace_format::ExitKind must mirror gs::ExitKind");
static_assert(static_cast<int>(tf::WatcherKind::Child) == static_cast<int>(gs::WatcherKind::Child),
              "trace_format::WatcherKind must mirror gs::WatcherKind");
static_assert(tf::kReasonCount == static_cast<int>(SwitchReason::LoopExit) + 1);

// cache_string() is string_id()'s miss: intern (a lock) and remember.
std::uint32_t cache_string(ThreadStream& s, const char* text, std::size_t slot) {
  if (*text == '\0') return 0;
  const std::uint32_t id = intern(text);
  s.strings.key[slot] = text;
  s.strings.id[slot] = id;
  return id;
}

namespace {

// kCrashFlushTimeoutMs bounds on_crash()'s wait for the writer; the crashed
// thread waits on it (the runtime allows 5 s for the whole report).
constexpr int kCrashFlushTimeoutMs = 3000;

// Simple events: a tag and up to three varints, at clock reading `ticks`
// (emit_at()) or now (emit()).
void emit_at(ThreadStream& s, std::uint64_t ticks, tf::Tag t) {
  if (std::uint8_t* p = s.begin_event(tag(t), 1 + kV, ticks)) s.end_event(p);
}
void emit_at(ThreadStream& s, std::uint64_t ticks, tf::Tag t, std::uint64_t a) {
  if (std::uint8_t* p = s.begin_event(tag(t), 1 + 2 * kV, ticks)) s.end_event(tf::put_varint(p, a));
}
void emit_at(ThreadStream& s, std::uint64_t ticks, tf::Tag t, std::uint64_t a, std::uint64_t b) {
  if (std::uint8_t* p = s.begin_event(tag(t), 1 + 3 * kV, ticks))
    s.end_event(tf::put_varint(tf::put_varint(p, a), b));
}
template <class... Fields>
void emit(ThreadStream& s, tf::Tag t, Fields... fields) {
  emit_at(s, now(), t, fields...);
}

// hook_event_ticks() is the reading for the event of the hook being run
// (on_switch, on_poll_begin, on_poll_end): the stall monitor's for the same
// moment when it took one (the runtime's tick clock, which the trace's is:
// init_clock()), else the clock now. Sharing it saves a clock read per
// event, about 10 ns, and puts switches and polls exactly on the monitor's
// segment boundaries. Never before the stream's last event (learn_hub()
// may have written one since the monitor's reading).
std::uint64_t hook_event_ticks(const ThreadStream& s) {
  const std::uint64_t h = *s.hook_ticks;
  return h != 0 ? std::max(h, s.last_ticks()) : now();
}

std::string_view spawn_name(const GreenletInfo& g) {
  return g.has_default_name() ? std::string_view() : std::string_view(g.name());
}

void emit_rename(ThreadStream& s, const GreenletInfo& g) {
  if (std::uint8_t* p = s.begin_event(tag(tf::Tag::Rename), 1 + 2 * kV + string_bytes(g.name())))
    s.end_event(put_string(tf::put_varint(p, g.id()), g.name()));
}

// learn_hub() starts a thread's part of a session: HubStart, then the names
// of greenlets that were named before the session began (their Spawn and
// Rename events are not in this file). `running` is the greenlet running
// now if the caller knows it (0 if not).
[[gnu::cold]] [[gnu::noinline]] void learn_hub(ThreadStream& s, const Hub& hub, std::uint64_t running) {
  s.hub = hub.hub_greenlet().id();
  // Until a switch says otherwise: the caller's greenlet, or main (a hub is
  // created by its thread's main greenlet).
  if (s.current == 0) s.current = running != 0 ? running : hub.main_greenlet().id();
  emit(s, tf::Tag::HubStart, s.hub, hub.main_greenlet().id());
  hub.for_each_greenlet([&](const GreenletInfo& g) {
    if (g.kind() == GreenletKind::User && !spawn_name(g).empty()) emit_rename(s, g);
  });
}

// in_hub() is a loop hook's stream set-up: those hooks run in the hub.
void in_hub(ThreadStream& s, const Hub& hub) {
  if (s.hub == 0) [[unlikely]] learn_hub(s, hub, hub.hub_greenlet().id());
}

bool is_wait(SwitchReason r) { return r >= SwitchReason::Sleep && r <= SwitchReason::Wait; }

// put_wait() writes what a suspending greenlet waits on.
[[gnu::always_inline]] inline std::uint8_t* put_wait(std::uint8_t* p, ThreadStream& s, const GreenletInfo& g, SwitchReason r) {
  if (!is_wait(r)) {  // yield, exit...: no primitive, no wait fields
    *p = 0;
    return p + 1;
  }
  const WaitInfo& w = g.wait_info();
  p = tf::put_varint(p, string_id(s, w.what));
  if (r == SwitchReason::Io) {
    p = tf::put_varint(p, static_cast<std::uint64_t>(w.fd < 0 ? 0 : w.fd));
    p = tf::put_varint(p, static_cast<std::uint64_t>(w.io_events));
  } else if (r == SwitchReason::Join) {
    const auto* joined = static_cast<const GreenletInfo*>(w.object);
    p = tf::put_varint(p, joined != nullptr ? joined->id() : 0);
  }
  return p;
}

class Recorder final : public Observer {
 public:
  void on_hub_start(const Hub& hub) override {
    if (HookScope h; h) learn_hub(h.stream(), hub, 0);
  }
  void on_hub_stop(const Hub&) override {
    if (HookScope h; h) {
      emit(h.stream(), tf::Tag::HubStop);
      h.stream().hub = 0;
    }
  }
  void on_spawn(const GreenletInfo& g, const GreenletInfo& spawner) override {
    HookScope h;
    if (!h) return;
    ThreadStream& s = h.stream();
    if (s.hub == 0) [[unlikely]] learn_hub(s, g.hub(), spawner.id());
    const std::string_view name = spawn_name(g);
    if (std::uint8_t* p = s.begin_event(tag(tf::Tag::Spawn), 1 + 3 * kV + string_bytes(name))) {
      p = tf::put_varint(p, g.id());
      p = tf::put_varint(p, spawner.id());
      s.end_event(put_string(p, name));
    }
  }
  void on_rename(const GreenletInfo& g) override {
    HookScope h;
    if (!h) return;
    ThreadStream& s = h.stream();
    if (s.hub == 0) [[unlikely]] {
      learn_hub(s, g.hub(), 0);  // which records every name, this one included
      return;
    }
    emit_rename(s, g);
  }
  void on_exit(const GreenletInfo& g, ExitKind kind, std::string_view error) override {
    HookScope h;
    if (!h) return;
    ThreadStream& s = h.stream();
    if (s.hub == 0) [[unlikely]] learn_hub(s, g.hub(), g.id());
    if (std::uint8_t* p = s.begin_event(tag(tf::Tag::Exit), 2 + 2 * kV + string_bytes(error))) {
      p = tf::put_varint(p, g.id());
      *p++ = static_cast<std::uint8_t>(kind);
      s.end_event(put_string(p, error));
    }
  }
  void on_switch(const GreenletInfo& from, const GreenletInfo& to, SwitchReason reason) override {
    HookScope h;
    if (!h) return;
    ThreadStream& s = h.stream();
    if (s.hub == 0) [[unlikely]] learn_hub(s, from.hub(), from.id());
    const std::uint64_t t = hook_event_ticks(s);
    // Where a greenlet waits: its stack, taken here on its own stack before
    // the switch, and written just before the switch it belongs to.
    if (is_wait(reason) && from.id() == s.current) {
      if (const std::uint32_t depth = g_wait_stack_depth.load(std::memory_order_relaxed); depth != 0)
        record_wait_stack(s, depth, t);
    }
    record_switch(s, from, to, reason, t);
    s.current = to.id();
  }
  void on_poll_begin(const Hub& hub) override {
    if (HookScope h; h) hub_event_at_hook_ticks(h.stream(), hub, tf::Tag::PollBegin);
  }
  void on_poll_end(const Hub& hub, int pending) override {
    if (HookScope h; h)
      hub_event_at_hook_ticks(h.stream(), hub, tf::Tag::PollEnd, static_cast<std::uint64_t>(pending < 0 ? 0 : pending));
  }
  void on_callbacks_begin(const Hub& hub) override {
    if (HookScope h; h) hub_event(h.stream(), hub, tf::Tag::CallbacksBegin);
  }
  void on_callbacks_end(const Hub& hub, std::size_t items) override {
    if (HookScope h; h) hub_event(h.stream(), hub, tf::Tag::CallbacksEnd, items);
  }
  void on_watcher_begin(const Hub& hub, WatcherKind kind, const void*, int fd, int revents) override {
    HookScope h;
    if (!h) return;
    ThreadStream& s = h.stream();
    in_hub(s, hub);
    if (std::uint8_t* p = s.begin_event(tag(tf::Tag::WatcherBegin), 2 + 3 * kV)) {
      *p++ = static_cast<std::uint8_t>(kind);
      p = tf::put_varint(p, tf::zigzag(fd));
      s.end_event(tf::put_varint(p, static_cast<std::uint64_t>(revents)));
    }
  }
  void on_watcher_end(const Hub& hub, WatcherKind kind, const void*) override {
    HookScope h;
    if (!h) return;
    ThreadStream& s = h.stream();
    in_hub(s, hub);
    if (std::uint8_t* p = s.begin_event(tag(tf::Tag::WatcherEnd), 2 + kV)) {
      *p++ = static_cast<std::uint8_t>(kind);
      s.end_event(p);
    }
  }
  void on_callback_enqueue(const Hub&) override {
    if (HookScope h; h) emit(h.stream(), tf::Tag::CallbackEnqueue);
  }
  void on_callback_begin(const Hub& hub) override {
    if (HookScope h; h) hub_event(h.stream(), hub, tf::Tag::CallbackBegin);
  }
  void on_callback_end(const Hub& hub) override {
    if (HookScope h; h) hub_event(h.stream(), hub, tf::Tag::CallbackEnd);
  }
  void on_error(const Hub&, const GreenletInfo* g, std::string_view text) override {
    HookScope h;
    if (!h) return;
    ThreadStream& s = h.stream();
    if (std::uint8_t* p = s.begin_event(tag(tf::Tag::Error), 1 + 2 * kV + string_bytes(text)))
      s.end_event(put_string(tf::put_varint(p, g != nullptr ? g->id() : 0), text));
  }
  void on_timeout(const Hub&, const GreenletInfo& target, Duration seconds) override {
    if (HookScope h; h)
      emit(h.stream(), tf::Tag::TimeoutExpired, target.id(),
           static_cast<std::uint64_t>(std::max(0.0, seconds.count()) * 1e6));
  }
  void on_patched_wait_begin(const char* call, int fd) override { patched(tf::Tag::PatchedWaitBegin, call, fd); }
  void on_patched_wait_end(const char* call, int fd) override { patched(tf::Tag::PatchedWaitEnd, call, fd); }
  void on_job_submit(const Hub&, const void* job) override { job_event(tf::Tag::JobSubmit, job); }
  void on_job_begin(const void* job, std::size_t worker) override { job_event(tf::Tag::JobBegin, job, worker); }
  void on_job_end(const void* job, std::size_t worker) override { job_event(tf::Tag::JobEnd, job, worker); }
  void on_job_done(const Hub&, const void* job) override { job_event(tf::Tag::JobDone, job); }

  // Stall hunting. The stall and crash hooks run on the runtime's monitor
  // thread ("gs-monitor"), which gets a stream like any other.
  void on_stall_begin(const StallReport& r) override {
    if (HookScope h; h) record_stall_begin(h.stream(), r);
  }
  void on_stall_sample(const StallReport& r, const StallSample& sample) override {
    if (HookScope h; h) record_stall_sample(h.stream(), r, sample);
  }
  void on_stall_end(const StallReport& r) override {
    if (HookScope h; h) record_stall_end(h.stream(), r);
  }
  void on_loop_lag(const Hub& hub, std::int64_t lag_ns) override {
    HookScope h;
    if (!h) return;
    in_hub(h.stream(), hub);
    record_loop_lag(h.stream(), lag_ns);
  }
  void on_blocking_call(const char* call, int fd, std::int64_t duration_ns, const std::uintptr_t* stack,
                        std::size_t depth) override {
    if (HookScope h; h) record_blocking_call(h.stream(), string_id(h.stream(), call), fd, duration_ns, stack, depth);
  }
  // on_crash() records, then has the writer ship everything (or dump, in
  // flight-recorder mode) and waits for it: the process dies when it returns.
  void on_crash(int sig, std::uintptr_t fault_address, std::uint64_t greenlet_id, bool overflow,
                const std::uintptr_t* stack, std::size_t depth, std::string_view text) override {
    {
      HookScope h;
      if (!h) return;
      const std::uint64_t ticks = now();
      record_crash(h.stream(), sig, fault_address, greenlet_id, overflow, stack, depth);
      queue_run_info(ticks, "crash", text);
    }
    if (crash_flush_wanted()) flush_for_crash(kCrashFlushTimeoutMs);
  }
  void on_run_info(std::string_view trigger, std::string_view text) override {
    // The scope keeps the session alive while the dump is queued.
    if (HookScope h; h) queue_run_info(now(), trigger, text);
  }

 private:
  template <class... Fields>
  static void hub_event(ThreadStream& s, const Hub& hub, tf::Tag t, Fields... fields) {
    in_hub(s, hub);
    emit(s, t, fields...);
  }
  // hub_event_at_hook_ticks() is hub_event() at the stall monitor's reading
  // of the same moment, if it took one (hook_event_ticks()).
  template <class... Fields>
  static void hub_event_at_hook_ticks(ThreadStream& s, const Hub& hub, tf::Tag t, Fields... fields) {
    in_hub(s, hub);
    emit_at(s, hook_event_ticks(s), t, fields...);
  }

  // record_switch() picks the shortest encoding: Suspend (the running
  // greenlet to the hub), Resume (the hub to a greenlet), or a full Switch
  // (anything else, such as the first switch seen on a thread).
  static void record_switch(ThreadStream& s, const GreenletInfo& from, const GreenletInfo& to, SwitchReason r,
                            std::uint64_t t) {
    const auto reason = static_cast<std::uint8_t>(r);
    std::uint8_t* p;
    if (to.id() == s.hub && from.id() == s.current) {
      p = s.begin_event(tag(tf::Tag::SuspendBase) | reason, 1 + 4 * kV, t);
      if (p == nullptr) return;
      p = put_wait(p, s, from, r);
    } else if (from.id() == s.hub) {
      p = s.begin_event(tag(tf::Tag::ResumeBase) | reason, 1 + 2 * kV, t);
      const auto delta = static_cast<std::int64_t>(to.id() - s.last_resumed);
      s.last_resumed = to.id();
      if (p == nullptr) return;
      p = tf::put_varint(p, tf::zigzag(delta));
    } else {
      p = s.begin_event(tag(tf::Tag::Switch), 2 + 6 * kV, t);
      if (p == nullptr) return;
      p = tf::put_varint(tf::put_varint(p, from.id()), to.id());
      *p++ = reason;
      p = put_wait(p, s, from, r);
    }
    s.end_event(p);
  }

  static void patched(tf::Tag t, const char* call, int fd) {
    HookScope h;
    if (!h) return;
    ThreadStream& s = h.stream();
    if (std::uint8_t* p = s.begin_event(tag(t), 1 + 3 * kV))
      s.end_event(tf::put_varint(tf::put_varint(p, string_id(s, call)), tf::zigzag(fd)));
  }
  static void job_event(tf::Tag t, const void* job) {
    if (HookScope h; h) emit(h.stream(), t, reinterpret_cast<std::uintptr_t>(job));
  }
  static void job_event(tf::Tag t, const void* job, std::size_t worker) {
    if (HookScope h; h) emit(h.stream(), t, reinterpret_cast<std::uintptr_t>(job), worker);
  }
};

}  // namespace

Observer& recorder() {
  static Recorder* r = new Recorder();  // never destroyed: hooks may run during exit
  return *r;
}

}  // namespace gs::trace::detail
