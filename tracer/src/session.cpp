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

#include <chrono>
#include <cstdlib>
#include <memory>
#include <thread>

#include "crash.h"
#include "greenscope/trace_env.h"
#include "greenscope/observer.h"
#include "recorder.h"
#include "writer.h"

namespace gs::trace::detail {

std::atomic<bool> g_recording [[gnu::visibility("hidden")]]{false};

namespace {

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
void wait_for_hooks_to_leave() {
  std::vector<ThreadStream*> streams;
  {
    std::lock_guard<std::mutex> lock(g_registry_mutex);
    streams = registered_streams_locked();
  }
  for (ThreadStream* s : streams) {
    while (s->in_hook.load(std::memory_order_acquire) != 0) std::this_thread::yield();
  }
}

std::string resolve_path(const std::string& path) {
  return trace_env::expand_pid(path.empty() ? trace_env::kDefault : path, ::getpid());
}

}  // namespace

void wake_writer() {
  g_signals.wake.fetch_add(1, std::memory_order_relaxed);
  futex_wake(g_signals.wake);
}

std::uint32_t intern(const char* text) {
  Session* s = g_live_session.load(std::memory_order_acquire);
  return s == nullptr ? 0 : s->strings().intern(text == nullptr ? "" : text);
}

bool start_session(const Options& options, std::string* error) {
  std::lock_guard<std::mutex> lock(g_session_mutex);
  if (g_session) {
    if (error) *error = "tracing is already on (writing '" + g_session->path() + "'): call gs::trace::stop() first";
    return false;
  }
  if (!g_membarrier_registered)
    g_membarrier_registered = membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
  Options resolved = options;
  resolved.path = resolve_path(options.path);
  if (resolved.flush_interval_ms == 0) resolved.flush_interval_ms = 1;
  auto session = std::make_unique<Session>(resolved);
  if (!session->open(error)) return false;
  static std::once_flag at_exit;
  std::call_once(at_exit, [] { std::atexit([] { stop_session(); }); });
  if (resolved.crash_flush) install_crash_handlers();
  {
    std::lock_guard<std::mutex> registry_lock(g_registry_mutex);
    set_block_source_locked(session.get());
    session->top_up_fairly(registered_streams_locked());
  }
  session->start_writer();
  last_path() = resolved.path;
  g_session = session.release();
  g_live_session.store(g_session, std::memory_order_release);
  g_recording.store(true);
  set_observer(&recorder());
  return true;
}

Stats stop_session() {
  std::lock_guard<std::mutex> lock(g_session_mutex);
  if (!g_session) return {};
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
  g_live_session.store(nullptr, std::memory_order_release);
  delete g_session;
  g_session = nullptr;
  return stats;
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
  if (g_live_session.load(std::memory_order_acquire) == nullptr) return;
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

void forget_session_after_fork() {
  // The writer thread does not exist in the child: record nothing there.
  g_recording.store(false);
  set_observer(nullptr);
  new (&g_session_mutex) std::mutex();
  g_session = nullptr;  // leaked on purpose: its writer thread is gone
  g_live_session.store(nullptr);
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
