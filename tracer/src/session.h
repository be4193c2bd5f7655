// session.h: one recording, from start() to stop(): the trace file, the
// block memory, the string table, and the writer thread that ships what
// threads commit. Also the process-wide registry of thread streams, which
// outlive sessions (a thread keeps its stream while it lives).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "greenscope/tracer.h"
#include "thread_stream.h"

namespace gs::trace::detail {

// g_recording is true while a session accepts events. Hooks check it after
// announcing themselves in ThreadStream::in_hook (see HookScope).
extern std::atomic<bool> g_recording [[gnu::visibility("hidden")]];

// wake_writer() asks the writer to run now (a producer filled a block).
void wake_writer();

// intern() returns the session's Strings id of `text`, adding it on first
// use. Takes a lock: callers cache the result per thread (StringCache).
std::uint32_t intern(const char* text);

bool start_session(const Options& options, std::string* error);
Stats stop_session();
Stats session_stats();
bool session_active();
std::string session_path();
std::string dump_session(const std::string& path);
// request_dump_async() is dump_session() for a signal handler: it only sets
// a flag and wakes the writer.
void request_dump_async();
// flush_for_crash() has the writer ship (or dump) everything committed and
// waits up to `timeout_ms` for it. Async-signal-safe.
void flush_for_crash(int timeout_ms);
// forget_session_after_fork() runs in a forked child.
void forget_session_after_fork();

}  // namespace gs::trace::detail
