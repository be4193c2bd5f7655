// session.cpp: gs::trace::start()/stop()/dump() and the crash flush.
//
// Stopping must not free what a hook is writing. Each hook raises its
// thread's in_hook flag, then checks g_recording (HookScope). stop() clears
// g_recording, issues membarrier() so that every thread's flag store is
// visible (the hot path pays a plain store, not a fence), and waits until
// no flag is up. Only then does it ship the rest and release the blocks.
#include "session.h"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <thread>

#include "crash.h"
#include "greenscope/detail/env.h"
#include "extension_events.h"
#include "greenscope/observer.h"
#include "greenscope/stall.h"
#include "greenscope/trace_env.h"
#include "recorder.h"
#include "stack_table.h"
#include "writer.h"

namespace gs::trace::detail {

std::atomic<bool> g_recording [[gnu::visibility("hidden")]]{false};
std::atomic<std::uint32_t> g_wait_stack_depth [[gnu::visibility("hidden")]]{0};

namespace {

// Wait stacks and the stall monitor can be turned off (or stacks deepened)
// without a code change: a program that traces through GREENSCOPE_TRACE has
// no Options to set.
constexpr const char* kWaitStacksEnv = "GREENSCOPE_WAIT_STACKS";          // 0: off
constexpr const char* kWaitStackDepthEnv = "GREENSCOPE_WAIT_STACK_DEPTH";  // frames, 1..64
constexpr const char* kStallMonitorEnv = "GREENSCOPE_TRACE_STALLS";        // 0: no monitor
constexpr const char* kRedactEnv = "GREENSCOPE_TRACE_REDACT";              // 1: no argument values


// Plain pointers, not objects with destructors: the atexit stop() must find
// them intact whatever order the process runs its exit-time destructors in.
std::mutex g_session_mutex;  // serializes start/stop/dump
Session* g_session = nullptr;
std::atomic<Session*> g_live_session{nullptr};
std::string& last_path() {
  static std::string* path = new std::string();
  return *path;
}
bool g_membarrier_registered = false;
// g_exiting: the process runs its exit handlers; no session starts any more
// (a toggle signal then would start one whose writer runs on while the
// process tears down). Guarded by g_session_mutex.
bool g_exiting = false;
// g_flight_live: the live session is a flight recorder's; read by the dump
// signal's handler, which must not touch the session (stop() frees it).
std::atomic<bool> g_flight_live{false};

int membarrier(int cmd) { return static_cast<int>(::syscall(SYS_membarrier, cmd, 0, 0)); }

// fence_every_thread() makes each thread's earlier stores visible to us, as
// if every thread had run a full fence.
void fence_every_thread() {
  if (g_membarrier_registered && membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return;
  if (membarrier(MEMBARRIER_CMD_GLOBAL) == 0) return;
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // no membarrier: let stores drain
}

// wait_for_hooks_to_leave() waits until no thread runs a hook. A hook takes
// well under a microsecond; a thread descheduled inside one is waited for.
// Each look is made under the registry lock: the writer frees the streams
// of exited threads meanwhile (Session::tick), and a copy of the list read
// one that was freed (ASan, a toggle's stop under load). Recording is off
// by now, so no hook starts and the looks converge.
void wait_for_hooks_to_leave() {
  const auto any_in_hook = [] {
    std::lock_guard<std::mutex> lock(g_registry_mutex);
    for (ThreadStream* s : registered_streams_locked())
      if (s->in_hook.load(std::memory_order_acquire) != 0) return true;
    return false;
  };
  while (any_in_hook()) std::this_thread::yield();
}

std::string resolve_path(const std::string& path) {
  return trace_env::expand_pid(path.empty() ? trace_env::kDefault : path, ::getpid());
}

// resolve_options() fills in defaults and applies the environment, which
// wins over code (as GREENSCOPE_STALL_MS does for the monitor).
Options resolve_options(const Options& options) {
  Options o = options;
  o.path = resolve_path(options.path);
  if (o.flush_interval_ms == 0) o.flush_interval_ms = 1;
  o.wait_stacks = gs::detail::env_flag(kWaitStacksEnv, o.wait_stacks ? "recording wait stacks" : "no wait stacks")
                      .value_or(o.wait_stacks);
  o.stall_monitor = gs::detail::env_flag(kStallMonitorEnv, o.stall_monitor ? "starting the stall monitor"
                                                                         : "not starting the stall monitor")
                        .value_or(o.stall_monitor);
  // A value that cannot be read still asked for privacy: redact.
  if (const auto redact = gs::detail::env_flag(kRedactEnv, "redacting the arguments, to be safe"))
    o.redact = *redact;
  else if (!gs::detail::env_value(kRedactEnv).empty())
    o.redact = true;
  o.wait_stack_depth = static_cast<unsigned>(std::clamp<std::size_t>(o.wait_stack_depth, 1, kMaxRecordedFrames));
  const std::string depth_default = "keeping " + std::to_string(o.wait_stack_depth) + " frames";
  const std::string depth_range = "a number of frames from 1 to " + std::to_string(kMaxRecordedFrames);
  if (const auto depth = gs::detail::env_number(kWaitStackDepthEnv, 1, static_cast<long>(kMaxRecordedFrames),
                                                depth_range.c_str(), depth_default.c_str()))
    o.wait_stack_depth = static_cast<unsigned>(*depth);
  return o;
}

std::atomic<bool> g_crash_flush{false};

// g_owns_monitor: the running stall monitor was started by a session, which
// stops it; one the program started itself is left alone.
bool g_owns_monitor = false;

// start_stall_monitor_for() starts the runtime's stall monitor, so that a
// trace holds every stall, unless the session opted out or it runs already.
// Before the crash handlers: the monitor's start installs the runtime's,
// which then report crashes to on_crash() (see crash.cpp).
void start_stall_monitor_for(const Options& options) {
  if (!options.stall_monitor || gs::stall_monitor_running()) return;
  try {
    gs::start_stall_monitor();
    g_owns_monitor = gs::stall_monitor_running();  // GREENSCOPE_STALL_MS=0 keeps it off
  } catch (const std::exception& e) {
    std::fprintf(stderr, "greenscope: tracing without the stall monitor: %s\n", e.what());
  }
}

// stop_owned_stall_monitor() runs while the session still records: stalls
// in progress are reported unended into the trace.
void stop_owned_stall_monitor() {
  if (!g_owns_monitor) return;
  g_owns_monitor = false;
  gs::stop_stall_monitor();
}

}  // namespace

void wake_writer() {
  g_signals.wake.fetch_add(1, std::memory_order_relaxed);
  gs::detail::futex_wake(g_signals.wake);
}

std::uint32_t intern(const char* text) {
  Session* s = g_live_session.load(std::memory_order_acquire);
  return s == nullptr ? 0 : s->strings().intern(text == nullptr ? "" : text);
}

StackTable* stack_table() {
  Session* s = g_live_session.load(std::memory_order_acquire);
  return s == nullptr ? nullptr : &s->stacks();
}

void queue_run_info(std::uint64_t ticks, std::string_view trigger, std::string_view text) {
  if (Session* s = g_live_session.load(std::memory_order_acquire)) s->run_infos().push(ticks, trigger, text);
}

extern "C" {
extern void* __dso_handle;
int __cxa_atexit(void (*fn)(void*), void* arg, void* dso);
}

void at_tracer_exit(void (*fn)()) {
  __cxa_atexit([](void* f) { reinterpret_cast<void (*)()>(f)(); }, reinterpret_cast<void*>(fn), &__dso_handle);
}

bool start_session(const Options& options, std::string* error) {
  std::lock_guard<std::mutex> lock(g_session_mutex);
  if (g_exiting) {
    if (error) *error = "the process is exiting";
    return false;
  }
  if (g_session) {
    if (error) *error = "tracing is already on (writing '" + g_session->path() + "'): call gs::trace::stop() first";
    return false;
  }
  if (!g_membarrier_registered)
    g_membarrier_registered = membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
  const Options resolved = resolve_options(options);
  auto session = std::make_unique<Session>(resolved);
  if (!session->open(error)) return false;
  static std::once_flag at_exit;
  std::call_once(at_exit, [] { at_tracer_exit(&stop_for_exit); });
  if (resolved.wait_stacks) hide_wait_stack_frames();
  g_wait_stack_depth.store(resolved.wait_stacks ? resolved.wait_stack_depth : 0, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> registry_lock(g_registry_mutex);
    set_block_source_locked(session.get());
    session->top_up_fairly(registered_streams_locked());
  }
  last_path() = session->path();
  g_session = session.release();
  g_live_session.store(g_session, std::memory_order_release);
  g_flight_live.store(g_session->flight());
  g_recording.store(true);
  // After recording is on: a writer that cannot write the file turns it off
  // (writer.cpp), and must not be overridden.
  g_session->start_writer();
  set_observer(&recorder());
  // Last, so that start()'s own work is not a stall; the crash handlers
  // after it (see crash.cpp).
  start_stall_monitor_for(resolved);
  g_crash_flush.store(resolved.crash_flush);
  if (resolved.crash_flush) install_crash_handlers();
  return true;
}

Stats stop_session() {
  std::lock_guard<std::mutex> lock(g_session_mutex);
  if (!g_session) return {};
  stop_owned_stall_monitor();
  remove_crash_handlers();
  set_observer(nullptr);
  g_recording.store(false);
  fence_every_thread();
  wait_for_hooks_to_leave();
  {
    std::lock_guard<std::mutex> registry_lock(g_registry_mutex);
    for (ThreadStream* s : registered_streams_locked()) g_session->report_drops_for(*s);
  }
  g_session->finish();
  const Stats stats = g_session->stats();
  {
    std::lock_guard<std::mutex> registry_lock(g_registry_mutex);
    std::vector<ThreadStream*> gone;
    for (ThreadStream* s : registered_streams_locked())
      if (s->exited.load(std::memory_order_acquire)) gone.push_back(s);
    remove_streams_locked(gone, [](ThreadStream&) {});
    g_session->release_blocks_locked();
    set_block_source_locked(nullptr);
  }
  g_flight_live.store(false);
  g_live_session.store(nullptr, std::memory_order_release);
  delete g_session;
  g_session = nullptr;
  return stats;
}

void stop_for_exit() {
  {
    std::lock_guard<std::mutex> lock(g_session_mutex);
    g_exiting = true;
  }
  stop_session();
}

bool exiting() {
  std::lock_guard<std::mutex> lock(g_session_mutex);
  return g_exiting;
}

Stats session_stats() {
  std::lock_guard<std::mutex> lock(g_session_mutex);
  return g_session != nullptr ? g_session->stats() : Stats{};
}

bool session_active() {
  std::lock_guard<std::mutex> lock(g_session_mutex);
  return g_session != nullptr;
}

std::string session_path() {
  std::lock_guard<std::mutex> lock(g_session_mutex);
  return last_path();
}

// dump_session() holds the session lock while the writer dumps, so a
// concurrent stop() waits; the writer itself never takes that lock.
std::string dump_session(const std::string& path) {
  std::lock_guard<std::mutex> lock(g_session_mutex);
  if (g_session == nullptr || !g_session->flight()) return {};
  return g_session->dump(path);
}

void request_dump_async() {
  if (!g_flight_live.load()) return;  // a streamed trace holds everything: there is nothing to dump
  g_signals.dump_requested.store(true);
  wake_writer();
}

void flush_for_crash(int timeout_ms) {
  if (g_live_session.load(std::memory_order_acquire) == nullptr) return;
  const std::uint32_t done = g_signals.crash_flushes_done.load();
  g_signals.crash_flush_requested.store(true);
  wake_writer();
  for (int waited = 0; waited < timeout_ms && g_signals.crash_flushes_done.load() == done; ++waited) {
    const timespec ms{0, 1000000};
    ::nanosleep(&ms, nullptr);
  }
}

bool crash_flush_wanted() { return g_crash_flush.load(); }

void forget_session_after_fork() {
  // The writer thread does not exist in the child: record nothing there.
  g_recording.store(false);
  set_observer(nullptr);
  new (&g_session_mutex) std::mutex();
  // Leaked on purpose (its writer thread is gone); its file is the
  // parent's, and the child lets go of it.
  if (g_session != nullptr) g_session->abandon_after_fork();
  g_session = nullptr;
  g_live_session.store(nullptr);
  g_flight_live.store(false);
  g_owns_monitor = false;  // the monitor thread is not in the child either
  forget_streams_after_fork();
}

}  // namespace gs::trace::detail

namespace gs::trace {

bool start(const Options& options, std::string* error) { return detail::start_session(options, error); }
Stats stop() { return detail::stop_session(); }
bool active() { return detail::session_active(); }
std::string path() { return detail::session_path(); }
Stats stats() { return detail::session_stats(); }
std::string dump(const std::string& path) { return detail::dump_session(path); }

}  // namespace gs::trace
