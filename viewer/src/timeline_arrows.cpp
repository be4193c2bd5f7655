// timeline_arrows.cpp: draw_switch_arrows(). For the selected span on a
// greenlet row (a run or a wait), the switches at its begin and end: who
// ran before it was switched in, who ran after it switched out (the hub,
// another greenlet). For a selected greenlet, every switch into or out of
// it in view (the first kMaxArrows), from Model::switch_links_of().
#include <imgui.h>

#include <algorithm>
#include <cmath>

#include "timeline.h"

namespace gs::viewer {
namespace {

constexpr ImU32 kInColor = IM_COL32(120, 255, 140, 230);   // switched in: to the selection
constexpr ImU32 kOutColor = IM_COL32(255, 170, 70, 230);   // switched out: from it
constexpr std::size_t kMaxArrows = 400;                     // a greenlet's arrows in view, at most

// arrow() is a vertical line from one row to another with a head at `to`.
void arrow(ImDrawList* dl, float x, float from_y, float to_y, ImU32 color) {
  const float dir = to_y > from_y ? 1.0f : -1.0f;
  const float tip = to_y - dir * (kRowHeight / 2 - 2);
  dl->AddLine(ImVec2(x, from_y), ImVec2(x, tip), color, 1.5f);
  dl->AddTriangleFilled(ImVec2(x, tip), ImVec2(x - 4, tip - dir * 7), ImVec2(x + 4, tip - dir * 7), color);
  dl->AddCircleFilled(ImVec2(x, from_y), 2.5f, color);
}

// draw_switches() draws the switches in [from, to] that touch `track`.
void draw_switches(const analysis::Model& m, const TimelineFrame& f, std::uint32_t track, std::int64_t from,
                   std::int64_t to) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->PushClipRect(ImVec2(f.map.x0, ImGui::GetWindowPos().y),
                   ImVec2(f.map.x1, ImGui::GetWindowPos().y + ImGui::GetWindowHeight()), true);
  const auto end = to == INT64_MAX ? to : to + 1;  // `to` is inclusive
  for (const analysis::SwitchLink& s : m.switch_links_of(track, from, end, kMaxArrows)) {
    if (s.from_track >= f.track_y.size() || s.to_track >= f.track_y.size()) continue;
    const float y_from = f.track_y[s.from_track], y_to = f.track_y[s.to_track];
    if (y_from < 0 || y_to < 0 || s.from_track == s.to_track) continue;  // a row folded away
    arrow(dl, f.map.x(s.time_ns), y_from, y_to, s.to_track == track ? kInColor : kOutColor);
  }
  dl->PopClipRect();
}

}  // namespace

void draw_switch_arrows(const App& app, const TimelineFrame& f) {
  const analysis::Model& m = *app.model;
  const Selection& s = app.selection;
  // A switch and the span edge it makes are stamped from one event, but
  // allow a pixel's worth (at least 1 µs) either way.
  const auto slack = std::max<std::int64_t>(1000, static_cast<std::int64_t>(std::ceil(f.map.ns_per_px())));
  if (s.kind == Selection::Kind::Span && s.track < m.tracks.size() &&
      m.tracks[s.track].type == analysis::Track::Type::Greenlet) {
    const analysis::SpanColumns& col = m.tracks[s.track].levels[s.level];
    draw_switches(m, f, s.track, col.begin[s.index] - slack, col.begin[s.index] + slack);
    draw_switches(m, f, s.track, col.end[s.index] - slack, col.end[s.index] + slack);
  } else if (s.kind == Selection::Kind::Greenlet && s.index < m.greenlets.size() &&
             m.greenlets[s.index].track != UINT32_MAX) {
    draw_switches(m, f, m.greenlets[s.index].track, f.map.range.begin, f.map.range.end);
  }
}

}  // namespace gs::viewer
