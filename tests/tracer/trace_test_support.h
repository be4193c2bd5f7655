// trace_test_support.h: record a piece of runtime code with the real tracer
// into a real file, and read it back with the real reader.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "greenscope/tracer.h"
#include "greenscope/traceio.h"

namespace gs::test {

// temp_trace_path() is a fresh path under /tmp for this test process.
inline std::string temp_trace_path(const std::string& tag) {
  static int n = 0;
  return "/tmp/gs-tracer-test-" + std::to_string(::getpid()) + "-" + tag + "-" + std::to_string(++n) + ".gstrace";
}

// load_or_fail() loads `path`; a null trace fails the test with the reason.
inline std::unique_ptr<traceio::Trace> load_or_fail(const std::string& path) {
  traceio::LoadResult r = traceio::load(path);
  EXPECT_TRUE(r.trace) << r.error;
  return std::move(r.trace);
}

// without_monitor() are Options for a test that counts the threads a trace
// names: with the stall monitor on, its thread records too if the test
// (slow under sanitizers) holds its hub for 10 ms.
inline trace::Options without_monitor() {
  trace::Options o;
  o.stall_monitor = false;
  return o;
}

// exiting_threads_ok() makes `o` safe for a test whose threads wait and then
// exit. Under TSan only, wait stacks go off: gs::capture_stack() uses
// libunwind's unw_backtrace, whose per-thread cache frees itself in the
// last round of thread-exit destructors, after TSan has torn the thread
// down, and TSan's mutex interceptor then crashes. (Not an issue without
// TSan; to go once capture_stack() avoids that cache under TSan.)
inline trace::Options exiting_threads_ok(trace::Options o) {
#if defined(GS_SANITIZE_THREAD)
  o.wait_stacks = false;
#endif
  return o;
}

// read_all() is a file's contents ("" if it cannot be read).
inline std::string read_all(const std::string& path) {
  std::string out;
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
    std::fclose(f);
  }
  return out;
}

inline void write_file(const std::string& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  std::fputs(text.c_str(), f);
  std::fclose(f);
}

// record() traces `body` into a temp file and loads it back.
inline std::unique_ptr<traceio::Trace> record(const std::function<void()>& body, trace::Options options = {}) {
  if (options.path.empty()) options.path = temp_trace_path("record");
  std::string error;
  if (!trace::start(options, &error)) {
    ADD_FAILURE() << "trace::start: " << error;
    return nullptr;
  }
  body();
  trace::stop();
  auto t = load_or_fail(options.path);
  ::unlink(options.path.c_str());
  return t;
}

// all_events() lists every event of `type`, thread by thread.
inline std::vector<traceio::Event> all_events(const traceio::Trace& t, traceio::EventType type) {
  std::vector<traceio::Event> out;
  for (const auto& th : t.threads())
    for (const auto& e : th.events)
      if (e.type == type) out.push_back(e);
  return out;
}

inline std::size_t count(const traceio::Trace& t, traceio::EventType type) {
  return t.stats().count[static_cast<std::size_t>(type)];
}

// greenlet_named() finds a greenlet by name; id 0 if none.
inline std::uint64_t greenlet_named(const traceio::Trace& t, const std::string& name) {
  for (const auto& [id, g] : t.greenlets())
    if (g.name == name) return id;
  return 0;
}

}  // namespace gs::test
