// event_text.cpp: describe_event() (event_text.h).
#include "event_text.h"

#include <cstdio>

#include "format.h"
#include "greenscope/syscall_names.h"

namespace gs::cli {

using traceio::Event;
using traceio::EventType;
using traceio::Reason;
using traceio::Trace;

namespace {

std::string io_events(std::uint16_t d) {
  if (d == 0) return "";
  std::string text;
  if (d & 1) text = "read";
  if (d & 2) text += text.empty() ? "write" : "+write";
  if (d & ~3u) text += (text.empty() ? "" : "+") + std::string("0x") + [&] {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%x", d & ~3u);
    return std::string(buf);
  }();
  return text;
}

std::string fd_text(std::int64_t fd) { return fd >= 0 ? "fd " + std::to_string(fd) : ""; }

// join_words() joins the non-empty parts with single spaces.
std::string join_words(std::initializer_list<std::string> parts) {
  std::string text;
  for (const std::string& p : parts)
    if (!p.empty()) text += (text.empty() ? "" : " ") + p;
  return text;
}

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string switch_text(const Trace& t, const Event& e) {
  const auto reason = static_cast<Reason>(e.code);
  std::string detail = t.text(e.str);
  if (reason == Reason::Io) detail = join_words({detail, fd_text(e.c), io_events(e.d)});
  if (reason == Reason::Join) detail = join_words({detail, "on " + greenlet_label(t, static_cast<std::uint64_t>(e.c))});
  const std::string why = std::string(traceio::to_string(reason)) + (detail.empty() ? "" : ": " + detail);
  return "switch " + greenlet_label(t, e.a) + " -> " + greenlet_label(t, e.b) + " (" + why + ")";
}

std::string watcher_text(const Event& e, const char* what) {
  const auto kind = static_cast<traceio::WatcherKind>(e.code);
  const std::string name = std::string(traceio::to_string(kind)) + " watcher " + what;
  if (e.type == EventType::WatcherEnd) return name;
  return join_words({name, fd_text(e.c), kind == traceio::WatcherKind::Io ? io_events(e.d) : ""});
}

std::string exit_text(const Trace& t, const Event& e) {
  const std::string kind(traceio::to_string(static_cast<traceio::ExitKind>(e.code)));
  const std::string& error = t.text(e.str);
  return "exit " + greenlet_label(t, e.a) + " " + kind + (error.empty() ? "" : ": " + error);
}

std::string lifecycle_text(const Trace& t, const Event& e) {
  switch (e.type) {
    case EventType::HubStart:
      return "hub start: hub " + greenlet_label(t, e.a) + ", main " + greenlet_label(t, e.b);
    case EventType::HubStop: return "hub stop";
    case EventType::Spawn:
      return "spawn " + greenlet_label(t, e.a) + " by " + greenlet_label(t, e.b);
    case EventType::Rename: return "rename #" + std::to_string(e.a) + " to '" + t.text(e.str) + "'";
    case EventType::Exit: return exit_text(t, e);
    case EventType::Error:
      return "error in " + (e.a != 0 ? greenlet_label(t, e.a) : std::string("a callback")) + ": " + t.text(e.str);
    case EventType::TimeoutExpired:
      return "timeout expired for " + greenlet_label(t, e.a) + " after " + format_duration(e.c * 1000);
    case EventType::Dropped:
      return "DROPPED " + std::to_string(e.a) + " events (lost over " + format_duration(e.c) + ")";
    default: return std::string(traceio::to_string(e.type));
  }
}

// stall_text() describes format 2.0's extension events; the stacks they
// name are printed by greenscope stalls and stacks.
std::string stall_text(const Trace& t, const Event& e) {
  switch (e.type) {
    case EventType::WaitStack: return "wait stack " + std::to_string(e.a);
    case EventType::StallBegin:
      return "stall " + std::to_string(e.a) + " began on thread " + std::to_string(e.b) + " at " + format_ms(e.c) +
             " ms (held by " + std::string(traceio::to_string(static_cast<traceio::StallOwner>(e.code))) + ")";
    case EventType::StallSample:
      return "stall " + std::to_string(e.a) + " sample: stack " + std::to_string(e.b) +
             (e.code != 0 ? ", in " + trace_format::syscall_name(e.c) + "() (syscall " + std::to_string(e.c) + ")" : "");
    case EventType::StallEnd:
      return "stall " + std::to_string(e.a) +
             (e.c >= 0 ? " ended at " + format_ms(e.c) + " ms" : std::string(" still going (never ended)")) + ", " +
             std::string(traceio::to_string(static_cast<traceio::StallKind>(e.code))) + ", cpu " +
             format_duration(static_cast<std::int64_t>(e.b));
    case EventType::LoopLag: return "loop lag " + format_duration(e.c);
    case EventType::BlockingCall:
      return join_words({"blocking call", t.text(e.str), fd_text(e.c), "for",
                         format_duration(static_cast<std::int64_t>(e.b)), "at stack " + std::to_string(e.a)});
    case EventType::Crash:
      return "CRASH signal " + std::to_string(e.d) + " at " + hex(e.b) + " in " +
             greenlet_label(t, static_cast<std::uint64_t>(e.c)) +
             (e.code & trace_format::kCrashStackOverflow ? " (stack overflow)" : "");
    default: return lifecycle_text(t, e);
  }
}

std::string loop_text(const Trace& t, const Event& e) {
  switch (e.type) {
    case EventType::CallbacksBegin: return "callbacks phase begin";
    case EventType::CallbacksEnd: return "callbacks phase end, " + std::to_string(e.a) + " run";
    case EventType::PollBegin: return "poll begin";
    case EventType::PollEnd: return "poll end, " + std::to_string(e.a) + " watchers pending";
    case EventType::WatcherBegin: return watcher_text(e, "begin");
    case EventType::WatcherEnd: return watcher_text(e, "end");
    case EventType::CallbackEnqueue: return "callback enqueued";
    case EventType::CallbackBegin: return "callback begin";
    case EventType::CallbackEnd: return "callback end";
    case EventType::JobSubmit: return "job " + hex(e.a) + " submitted";
    case EventType::JobBegin: return "job " + hex(e.a) + " begins on worker " + std::to_string(e.b);
    case EventType::JobEnd: return "job " + hex(e.a) + " ends on worker " + std::to_string(e.b);
    case EventType::JobDone: return "job " + hex(e.a) + " done";
    case EventType::PatchedWaitBegin: return join_words({"patched wait begin", t.text(e.str), fd_text(e.c)});
    case EventType::PatchedWaitEnd: return join_words({"patched wait end", t.text(e.str), fd_text(e.c)});
    default: return stall_text(t, e);
  }
}

}  // namespace

std::string describe_event(const Trace& trace, const Event& e) {
  if (e.type == EventType::Switch) return switch_text(trace, e);
  return loop_text(trace, e);
}

}  // namespace gs::cli
