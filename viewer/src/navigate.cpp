// navigate.cpp: selecting an item and bringing it into view, shared by the
// timeline, the stalls list and the greenlets list.
#include <algorithm>

#include "app.h"

namespace gs::viewer {

std::int64_t stall_end(const traceio::StallInfo& s) {
  return s.ended() ? std::max(s.end_ns, s.start_ns + 1) : s.start_ns + std::max<std::int64_t>(s.duration_ns, 1);
}

std::uint32_t hub_track_of(const analysis::Model& m, std::uint32_t process, std::uint32_t thread_index) {
  if (process >= m.processes.size()) return UINT32_MAX;
  for (std::uint32_t t : m.processes[process].threads)
    if (t < m.threads.size() && m.threads[t].index == thread_index) return m.threads[t].hub_track;
  return UINT32_MAX;
}

// zoom_to() shows [begin, end) with a quarter of its length as margin on
// each side, so that what came before and after is in view too.
void zoom_to(App& app, std::int64_t begin, std::int64_t end) {
  const std::int64_t len = std::max<std::int64_t>(end - begin, 1000);
  app.view.jump({begin - len / 4, begin + len + len / 4});
}

void select_stall(App& app, std::size_t stall, bool zoom) {
  const analysis::Model& m = *app.model;
  if (stall >= m.stalls.size()) return;
  app.selection = {Selection::Kind::Stall, 0, 0, stall};
  const traceio::StallInfo& s = m.stalls[stall];
  if (zoom) zoom_to(app, s.start_ns, stall_end(s));
  const std::uint32_t process = stall < m.stall_process.size() ? m.stall_process[stall] : 0;
  // The hub's rows (the stall row names the culprit; its row is highlighted).
  app.scroll_to_track = hub_track_of(m, process, s.thread);
}

void select_greenlet(App& app, std::size_t greenlet, bool zoom) {
  const analysis::Model& m = *app.model;
  if (greenlet >= m.greenlets.size()) return;
  app.selection = {Selection::Kind::Greenlet, 0, 0, greenlet};
  const analysis::GreenletSummary& g = m.greenlets[greenlet];
  app.scroll_to_track = g.track;
  if (!zoom) return;
  const std::int64_t b = g.spawn_ns >= 0 ? g.spawn_ns : m.begin_ns();
  const std::int64_t e = g.exit_ns >= 0 ? g.exit_ns : m.end_ns();
  zoom_to(app, b, std::max(e, b + 1));
}

// select_span() selects a span; a stall's or a crash's span selects the
// stall or crash itself, whose details are richer.
void select_span(App& app, std::uint32_t track, std::uint32_t level, std::size_t span) {
  const analysis::Model& m = *app.model;
  const analysis::SpanColumns& col = m.tracks[track].levels[level];
  const analysis::SpanInfo& info = m.infos[col.info[span]];
  if (col.kind[span] == analysis::SpanKind::Stall && info.key < m.stalls.size()) {
    app.selection = {Selection::Kind::Stall, track, level, static_cast<std::size_t>(info.key)};
    return;
  }
  if (col.kind[span] == analysis::SpanKind::Crash && info.key < m.crashes.size()) {
    app.selection = {Selection::Kind::Crash, track, level, static_cast<std::size_t>(info.key)};
    return;
  }
  app.selection = {Selection::Kind::Span, track, level, span};
}

}  // namespace gs::viewer

namespace gs::viewer {

bool selection_valid(const analysis::Model& m, const Selection& s) {
  switch (s.kind) {
    case Selection::Kind::None: return true;
    case Selection::Kind::Span:
      return s.track < m.tracks.size() && s.level < m.tracks[s.track].levels.size() &&
             s.index < m.tracks[s.track].levels[s.level].size();
    case Selection::Kind::Stall: return s.index < m.stalls.size();
    case Selection::Kind::Crash: return s.index < m.crashes.size();
    case Selection::Kind::Greenlet: return s.index < m.greenlets.size();
    case Selection::Kind::RunInfo: return s.index < m.run_infos.size();
  }
  return false;
}

// select_and_show() selects `s` and zooms to it: what a search hit or a
// histogram row does.
void select_and_show(App& app, const Selection& s) {
  const analysis::Model& m = *app.model;
  if (!selection_valid(m, s)) return;
  switch (s.kind) {
    case Selection::Kind::Stall: select_stall(app, s.index, true); return;
    case Selection::Kind::Greenlet: select_greenlet(app, s.index, true); return;
    case Selection::Kind::Crash: {
      const traceio::CrashInfo& c = m.crashes[s.index];
      app.selection = s;
      zoom_to(app, c.time_ns - 500'000, c.time_ns + 500'000);
      return;
    }
    case Selection::Kind::RunInfo: {
      app.selection = s;
      const std::int64_t t = m.run_infos[s.index].time_ns;
      zoom_to(app, t - 500'000, t + 500'000);
      return;
    }
    case Selection::Kind::Span: {
      const analysis::SpanColumns& col = m.tracks[s.track].levels[s.level];
      select_span(app, s.track, s.level, s.index);
      zoom_to(app, col.begin[s.index], std::max(col.end[s.index], col.begin[s.index] + 1));
      app.scroll_to_track = s.track;
      return;
    }
    case Selection::Kind::None: app.selection = s; return;
  }
}

}  // namespace gs::viewer
