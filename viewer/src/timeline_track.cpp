// timeline_track.cpp: one track's rows. Each level is drawn from its
// visible window only, with narrow spans folded (fold.h).
#include <imgui.h>

#include <algorithm>
#include <string>

#include "colors.h"
#include "span_text.h"
#include "timeline.h"

namespace gs::viewer {
namespace {

using analysis::SpanKind;

constexpr ImU32 kSelected = IM_COL32(255, 230, 60, 255);
constexpr ImU32 kLabel = IM_COL32(210, 210, 215, 255);
constexpr ImU32 kRowBgOdd = IM_COL32(255, 255, 255, 8);
constexpr float kMinSeparatedPx = 5;  // narrower spans get no edge: it would hide their colour

// fit_text() is `text` cut (with "...") to fit `width` px, or "" if not even
// three characters fit.
std::string fit_text(std::string text, float width) {
  if (ImGui::CalcTextSize(text.c_str()).x <= width) return text;
  while (text.size() > 3) {
    text.resize(text.size() - 1);
    if (ImGui::CalcTextSize((text + "...").c_str()).x <= width) return text + "...";
  }
  return {};
}

// fit_label() is fit_text() for a row's name that ends in " #id": the name
// is cut, the id kept ("StreamServer conn... #7"), since the id tells rows
// of one name apart.
std::string fit_label(const std::string& text, float width) {
  const auto hash = text.rfind(" #");
  if (hash == std::string::npos || ImGui::CalcTextSize(text.c_str()).x <= width) return fit_text(text, width);
  const std::string id = text.substr(hash);
  const std::string name = fit_text(text.substr(0, hash), width - ImGui::CalcTextSize(id.c_str()).x);
  return name.empty() ? fit_text(text, width) : name + id;
}

// draw_hatch() marks lost events: yellow diagonal stripes.
void draw_hatch(ImDrawList* dl, ImVec2 a, ImVec2 b) {
  dl->AddRectFilled(a, b, IM_COL32(60, 56, 20, 255));
  dl->PushClipRect(a, b, true);
  const float h = b.y - a.y;
  for (float x = a.x - h; x < b.x; x += 6) dl->AddLine(ImVec2(x, b.y), ImVec2(x + h, a.y), IM_COL32(220, 200, 60, 255));
  dl->PopClipRect();
}

// draw_crash() marks a crash: a zero-length span, so a line and a flag.
void draw_crash(ImDrawList* dl, float x, float y0, float y1) {
  dl->AddLine(ImVec2(x, y0), ImVec2(x, y1), kCrashRed, 2);
  dl->AddTriangleFilled(ImVec2(x, y0), ImVec2(x + 8, y0 + 4), ImVec2(x, y0 + 8), kCrashRed);
}

bool is_selected(const App& app, std::uint32_t track, std::uint32_t level, const Block& b,
                 const analysis::SpanColumns& col, const analysis::Model& m) {
  const Selection& s = app.selection;
  if (s.kind == Selection::Kind::Span)
    return s.track == track && s.level == level && s.index >= b.first && s.index < b.first + b.count;
  if (s.kind == Selection::Kind::Stall && b.count == 1 && col.kind[b.first] == SpanKind::Stall)
    return m.infos[col.info[b.first]].key == s.index;
  if (s.kind == Selection::Kind::Greenlet && col.kind[b.first] == SpanKind::Running) {
    const auto& g = m.greenlets[s.index];
    return g.track == track;
  }
  return false;
}

struct RowContext {
  App& app;
  TimelineFrame& f;
  ImDrawList* dl;
  std::uint32_t track, level;
  float y0, y1;
};

void draw_block(RowContext& c, const Block& b) {
  const analysis::Model& m = *c.app.model;
  const analysis::Track& t = m.tracks[c.track];
  const analysis::SpanColumns& col = t.levels[c.level];
  const SpanKind kind = col.kind[b.first];
  float x0 = std::max(c.f.map.x(b.begin), c.f.map.x0 - 2);
  float x1 = std::min(c.f.map.x(b.end), c.f.map.x1 + 2);
  if (x1 - x0 < 1) x1 = x0 + 1;
  const ImVec2 a(x0, c.y0 + 1), z(x1, c.y1 - 1);
  if (c.f.mouse_y >= c.y0 && c.f.mouse_y < c.y1 && c.f.mouse_x >= x0 - 1 && c.f.mouse_x < x1 + 1)
    c.f.hover = {true, c.track, c.level, b};
  if (b.count == 1 && kind == SpanKind::Crash) {
    draw_crash(c.dl, x0, c.y0, c.y1);
    return;
  }
  if (b.count == 1 && kind == SpanKind::Dropped) {
    draw_hatch(c.dl, a, z);
    return;
  }
  if (kind == SpanKind::Stall && b.count == 1 && m.infos[col.info[b.first]].key == static_cast<std::uint64_t>(c.app.longest_stall))
    c.app.notes.longest_stall = {std::max(x0, c.f.map.x0), c.y0, std::min(x1, c.f.map.x1), c.y1};
  const Color fill = span_color(t, kind, col.code[b.first]);
  c.dl->AddRectFilled(a, z, b.count == 1 ? fill : dimmed(fill, 0.75f));
  // Adjacent spans of one colour (the hub's prepare watchers) would read as
  // one bar: a darker edge separates each span wide enough to show it.
  if (b.count == 1 && x1 - x0 >= kMinSeparatedPx) c.dl->AddRect(a, z, dimmed(fill, 0.45f));
  if (is_selected(c.app, c.track, c.level, b, col, m)) c.dl->AddRect(ImVec2(x0 - 1, c.y0), ImVec2(x1 + 1, c.y1), kSelected, 0, 0, 2);
  const float tx = std::max(x0, c.f.map.x0) + 3, room = std::min(x1, c.f.map.x1) - tx - 2;
  if (room < 14) return;
  const std::string text = b.count == 1 ? span_label(m, t, col, b.first) : std::to_string(b.count) + " spans";
  const std::string shown = fit_text(text, room);
  if (!shown.empty()) c.dl->AddText(ImVec2(tx, c.y0 + 2), text_color_on(fill), shown.c_str());
}

// own_levels() is how many of a track's levels hold its own spans; the
// levels after them hold stalls, blocking calls, loop lag, crashes and
// drops, the stalls on the last one.
std::uint32_t own_levels(const analysis::Track& t) {
  return std::min<std::uint32_t>(t.own_levels, static_cast<std::uint32_t>(t.levels.size()));
}

// level_order() lists a track's levels top to bottom: the stall levels
// first (the last, with the stalls, on top), since that is what someone
// hunting a freeze looks for, then the track's own levels, outermost first.
std::vector<std::uint32_t> level_order(const analysis::Track& t) {
  std::vector<std::uint32_t> order;
  const auto n = static_cast<std::uint32_t>(t.levels.size());
  const std::uint32_t own = own_levels(t);
  for (std::uint32_t i = n; i > own; --i) order.push_back(i - 1);
  for (std::uint32_t i = 0; i < own; ++i) order.push_back(i);
  return order;
}

std::string row_name(const analysis::Model& m, const analysis::Track& t, std::uint32_t level, bool first) {
  const std::uint32_t own = own_levels(t);
  if (level >= own) return level + 1 == t.levels.size() ? "stalls" : "blocking, lag";
  if (t.type == analysis::Track::Type::Hub) return level == 0 ? "hub loop" : level == 1 ? "  watchers" : "  nested";
  return first ? track_label(m, t) : std::string();
}

// selected_row() is true for the row of the selected greenlet, and of the
// greenlet a selected stall blames: their names are highlighted.
bool selected_row(const App& app, std::uint32_t track) {
  const analysis::Model& m = *app.model;
  const Selection& s = app.selection;
  if (s.kind == Selection::Kind::Greenlet) return s.index < m.greenlets.size() && m.greenlets[s.index].track == track;
  if (s.kind != Selection::Kind::Stall || s.index >= m.stalls.size()) return false;
  const traceio::StallInfo& stall = m.stalls[s.index];
  if (stall.owner != traceio::StallOwner::Greenlet) return false;
  const auto* g = m.greenlet(s.index < m.stall_process.size() ? m.stall_process[s.index] : 0, stall.greenlet);
  return g != nullptr && g->track == track;
}

}  // namespace

void draw_track(App& app, TimelineFrame& f, std::uint32_t track) {
  const analysis::Model& m = *app.model;
  const analysis::Track& t = m.tracks[track];
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const float left = ImGui::GetWindowPos().x;
  if (f.track_y.size() != m.tracks.size()) f.track_y.assign(m.tracks.size(), -1);
  bool first = true;
  for (std::uint32_t level : level_order(t)) {
    const ImVec2 p = ImGui::GetCursorScreenPos();
    ImGui::Dummy(ImVec2(std::max(1.0f, f.map.x1 - p.x), kRowHeight));
    if (first && app.scroll_to_track == track) {
      ImGui::SetScrollHereY(0.3f);
      app.scroll_to_track = UINT32_MAX;
    }
    const bool was_first = first;
    first = false;
    if (level == 0) f.track_y[track] = p.y + kRowHeight / 2;
    if (!ImGui::IsItemVisible()) continue;
    const float y0 = p.y, y1 = p.y + kRowHeight;
    if (static_cast<int>(y0) / static_cast<int>(kRowHeight) % 2 == 1)
      dl->AddRectFilled(ImVec2(left, y0), ImVec2(f.map.x1, y1), kRowBgOdd);
    const bool chosen = was_first && selected_row(app, track);
    const std::string name = fit_label(row_name(m, t, level, was_first), f.map.x0 - p.x - 6);
    dl->AddText(ImVec2(p.x, y0 + 2), chosen ? kSelected : kLabel, name.c_str());
    dl->PushClipRect(ImVec2(f.map.x0, y0), ImVec2(f.map.x1, y1), true);
    RowContext c{app, f, dl, track, level, y0, y1};
    const auto min_ns = static_cast<std::int64_t>(kMinBlockPx * f.map.ns_per_px());
    fold_window(t.levels[level], f.map.range.begin, f.map.range.end, min_ns, [&c](const Block& b) { draw_block(c, b); });
    if (level == 0 && t.type == analysis::Track::Type::Hub) draw_run_info_markers(app, f, track, y0, y1);
    dl->PopClipRect();
  }
}

}  // namespace gs::viewer
