// session.h: one recording, from start() to stop(): the trace file, the
// block memory, the string table, and the writer thread that ships what
// threads commit. Also the process-wide registry of thread streams, which
// outlive sessions (a thread keeps its stream while it lives).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "greenscope/tracer.h"
#include "thread_stream.h"

namespace gs::trace::detail {

// g_recording is true while a session accepts events. Hooks check it after
// announcing themselves in ThreadStream::in_hook (see HookScope).
extern std::atomic<bool> g_recording [[gnu::visibility("hidden")]];

// g_wait_stack_depth is the frames kept per wait stack; 0: none are taken.
// Set before g_recording turns on.
extern std::atomic<std::uint32_t> g_wait_stack_depth [[gnu::visibility("hidden")]];

// wake_writer() asks the writer to run now (a producer filled a block).
void wake_writer();

// intern() returns the session's Strings id of `text`, adding it on first
// use. Takes a lock: callers cache the result per thread (StringCache).
std::uint32_t intern(const char* text);

class StackTable;
// stack_table() is the live session's; callers inside a hook may use it
// until the hook returns (stop() waits for them). Null when off.
StackTable* stack_table();
// queue_run_info() hands a run-info dump to the writer (any thread).
void queue_run_info(std::uint64_t ticks, std::string_view trigger, std::string_view text);

// at_tracer_exit() runs `fn` at process exit, when this library is
// finalized: before the runtime (which it depends on) tears down its
// globals, so that stop() can still stop the stall monitor. std::atexit()
// from a shared library means the same, except under TSan, whose
// interceptor moves it after every library's finalization.
void at_tracer_exit(void (*fn)());

bool start_session(const Options& options, std::string* error);
Stats stop_session();
// stop_for_exit() stops the session at process exit, and every start()
// after it fails; exiting() says whether it ran.
void stop_for_exit();
bool exiting();
Stats session_stats();
bool session_active();
std::string session_path();
std::string dump_session(const std::string& path);
// request_dump_async() is dump_session() for a signal handler: it only sets
// a flag and wakes the writer; nothing unless the session is a flight
// recorder's.
void request_dump_async();
// flush_for_crash() has the writer ship (or dump) everything committed and
// waits up to `timeout_ms` for it. Async-signal-safe, and usable from a
// normal thread too (Observer::on_crash on the runtime's monitor thread).
void flush_for_crash(int timeout_ms);
// crash_flush_wanted() is the live session's Options::crash_flush.
bool crash_flush_wanted();
// forget_session_after_fork() runs in a forked child.
void forget_session_after_fork();

}  // namespace gs::trace::detail
