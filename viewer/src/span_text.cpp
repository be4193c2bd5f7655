// span_text.cpp: see span_text.h.
#include "span_text.h"

#include "format.h"
#include "greenscope/analysis/stall_model.h"

namespace gs::viewer {

using analysis::SpanKind;

const char* kind_name(SpanKind kind) {
  switch (kind) {
    case SpanKind::Running: return "running";
    case SpanKind::Waiting: return "waiting";
    case SpanKind::Poll: return "poll";
    case SpanKind::Callbacks: return "callbacks phase";
    case SpanKind::Watcher: return "watcher callback";
    case SpanKind::Callback: return "run_callback() callback";
    case SpanKind::Job: return "thread-pool job";
    case SpanKind::Stall: return "stall";
    case SpanKind::BlockingCall: return "blocking call";
    case SpanKind::LoopLag: return "loop lag";
    case SpanKind::Dropped: return "events dropped";
    case SpanKind::Crash: return "crash";
  }
  return "?";
}

std::string greenlet_label(const analysis::Model& m, std::uint32_t process, std::uint64_t id) {
  const analysis::GreenletSummary* g = m.greenlet(process, id);
  const std::string number = "#" + std::to_string(id);
  if (g == nullptr || m.text(g->name).empty()) return number;
  return "'" + m.text(g->name) + "' (" + number + ")";
}

std::string wait_label(const analysis::Model& m, std::uint32_t process, std::uint8_t reason,
                       const analysis::SpanInfo& info) {
  const auto r = static_cast<traceio::Reason>(reason);
  std::string out(traceio::to_string(r));
  if (r == traceio::Reason::Join && info.key != 0) return out + " " + greenlet_label(m, process, info.key);
  if (info.what != 0 && !m.text(info.what).empty()) out += " " + m.text(info.what);
  if (info.fd >= 0) out += " fd " + std::to_string(info.fd);
  if (r == traceio::Reason::Io && info.events != 0)
    out += (info.events & 1) && (info.events & 2) ? " read+write" : (info.events & 2) ? " write" : " read";
  return out;
}

std::string span_label(const analysis::Model& m, const analysis::Track& track, const analysis::SpanColumns& level,
                       std::size_t i) {
  const analysis::SpanInfo& info = m.infos[level.info[i]];
  const std::int64_t d = level.end[i] - level.begin[i];
  switch (level.kind[i]) {
    case SpanKind::Running: return track_label(m, track);
    case SpanKind::Waiting: return wait_label(m, track.process, level.code[i], info);
    case SpanKind::Watcher: {
      std::string s(traceio::to_string(static_cast<traceio::WatcherKind>(level.code[i])));
      return info.fd >= 0 ? s + " fd " + std::to_string(info.fd) : s;
    }
    case SpanKind::Job: return "job " + std::to_string(info.key);
    case SpanKind::Stall: {
      // The culprit and the kind in the label: the culprit's own row may be
      // far below, scrolled out of view.
      if (info.key >= m.stalls.size()) return "STALL " + format_duration(d);
      const traceio::StallInfo& stall = m.stalls[info.key];
      const std::string head = "STALL " + format_duration(d) + ": " + stall_culprit(m, info.key);
      if (!stall.has_end || stall.cpu_window_ns <= 0) return head;  // its kind was not measured
      return head + ", " + verdict::short_text(m.stall_summary(info.key).verdict);
    }
    case SpanKind::BlockingCall: return m.text(info.what) + " blocked " + format_duration(d);
    case SpanKind::LoopLag: return "loop lag " + format_duration(d);
    case SpanKind::Dropped: return format_count(info.key) + " events lost";
    case SpanKind::Crash: return "CRASH";
    default: return kind_name(level.kind[i]);
  }
}

std::string stall_culprit(const analysis::Model& m, std::size_t i) {
  const traceio::StallInfo& s = m.stalls[i];
  const std::uint32_t process = i < m.stall_process.size() ? m.stall_process[i] : 0;
  if (!s.has_begin) return "unknown (its start was lost)";
  switch (s.owner) {
    case traceio::StallOwner::Greenlet: return "greenlet " + greenlet_label(m, process, s.greenlet);
    case traceio::StallOwner::Watcher: return std::string(traceio::to_string(s.watcher)) + " watcher callback";
    case traceio::StallOwner::Callback: return "run_callback() callback";
    case traceio::StallOwner::Hub: return "the hub's own code";
  }
  return "?";
}

std::string track_label(const analysis::Model& m, const analysis::Track& track) {
  switch (track.type) {
    case analysis::Track::Type::Hub: return "hub";
    case analysis::Track::Type::Worker: return "thread-pool jobs";
    case analysis::Track::Type::Greenlet: {
      const analysis::GreenletSummary* g = m.greenlet(track.process, track.greenlet);
      const std::string name = g != nullptr ? m.text(g->name) : std::string();
      return (name.empty() ? std::string("greenlet") : name) + " #" + std::to_string(track.greenlet);
    }
  }
  return "?";
}

}  // namespace gs::viewer
