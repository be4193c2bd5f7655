// panel_histogram.cpp: draw_histogram_panel(), how long greenlets run
// between switches: every Running span counted in power-of-two bins on a
// log scale. The long tail is what starves the others; a click on a bar
// lists its longest runs, and a click on one of those jumps to it.
#include <imgui.h>

#include <algorithm>
#include <cmath>

#include "format.h"
#include "layout.h"
#include "model_stats.h"
#include "span_text.h"

namespace gs::viewer {
namespace {

constexpr std::size_t kListed = 20;  // the longest runs listed for a bar
constexpr ImU32 kBar = IM_COL32(90, 150, 230, 255);
constexpr ImU32 kBarSelected = IM_COL32(255, 230, 60, 255);

struct HistogramState {
  std::uint64_t generation = 0;
  RunHistogram histogram;
  int selected_bin = -1;             // an exponent; -1 none
  std::vector<SpanRef> longest;      // of selected_bin
};

HistogramState& state_for(const App& app) {
  static HistogramState s;
  if (s.generation != app.generation) {
    s.histogram = run_histogram(*app.model);
    s.generation = app.generation;
    if (s.selected_bin >= 0) s.longest = longest_runs_in(*app.model, s.selected_bin, kListed);
  }
  return s;
}

// draw_bars() draws the bars in a box of `size` at the cursor; returns the
// bin clicked, or -1. Heights are linear in count, the x axis is log2.
int draw_bars(const HistogramState& s, ImVec2 size) {
  const RunHistogram& h = s.histogram;
  const ImVec2 p = ImGui::GetCursorScreenPos();
  ImGui::InvisibleButton("bars", size);
  const bool clicked = ImGui::IsItemClicked();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const std::uint64_t top = std::max<std::uint64_t>(1, *std::max_element(h.counts.begin(), h.counts.end()));
  const float w = size.x / static_cast<float>(h.counts.size()), label_h = ImGui::GetTextLineHeight();
  const float base = p.y + size.y - label_h;
  const float mx = ImGui::GetIO().MousePos.x;
  // every: label one bin in so many that the labels ("262 µs") do not touch.
  const std::size_t every = static_cast<std::size_t>(std::ceil(ImGui::CalcTextSize("65.5 ms   ").x / std::max(1.0f, w)));
  int hit = -1;
  for (std::size_t i = 0; i < h.counts.size(); ++i) {
    const int bin = h.first + static_cast<int>(i);
    const float x0 = p.x + w * static_cast<float>(i), x1 = x0 + std::max(1.0f, w - 2);
    const float bar_h = (base - p.y - 2) * static_cast<float>(h.counts[i]) / static_cast<float>(top);
    const float y0 = base - std::max(h.counts[i] > 0 ? 2.0f : 0.0f, bar_h);
    dl->AddRectFilled(ImVec2(x0, y0), ImVec2(x1, base), bin == s.selected_bin ? kBarSelected : kBar);
    if (i % every == 0) dl->AddText(ImVec2(x0, base + 1), IM_COL32(180, 180, 185, 255), format_duration(std::int64_t{1} << bin).c_str());
    if (ImGui::IsItemHovered() && mx >= x0 && mx < x0 + w) {
      hit = bin;
      ImGui::SetTooltip("%s runs of %s .. %s\nclick: list the longest", format_count(h.counts[i]).c_str(),
                        format_duration(std::int64_t{1} << bin).c_str(), format_duration(std::int64_t{1} << (bin + 1)).c_str());
    }
  }
  return clicked ? hit : -1;
}

void draw_longest(App& app, const HistogramState& s) {
  const analysis::Model& m = *app.model;
  ImGui::BeginChild("longest", ImVec2(0, 0), false);
  for (const SpanRef& r : s.longest) {
    const analysis::Track& t = m.tracks[r.track];
    const analysis::SpanColumns& col = t.levels[r.level];
    const std::string line = format_duration(col.end[r.index] - col.begin[r.index]) + "  " + track_label(m, t) + "  at " +
                             format_time(col.begin[r.index]) + "##run" + std::to_string(r.track) + "_" + std::to_string(r.index);
    const bool selected = app.selection.kind == Selection::Kind::Span && app.selection.track == r.track &&
                          app.selection.level == r.level && app.selection.index == r.index;
    if (ImGui::Selectable(line.c_str(), selected)) select_and_show(app, {Selection::Kind::Span, r.track, r.level, r.index});
  }
  ImGui::EndChild();
}

}  // namespace

void draw_histogram_panel(App& app) {
  place_next_window(app, Panel::Histogram);
  ImGui::Begin("Run lengths", nullptr, ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize);
  HistogramState& s = state_for(app);
  if (s.histogram.total == 0) {
    ImGui::TextWrapped("No greenlet runs recorded.");
    ImGui::End();
    return;
  }
  ImGui::Text("%s runs by length (log scale)", format_count(s.histogram.total).c_str());
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const bool side = avail.x > 420;  // wide: the list beside the bars, else below them
  const ImVec2 bars(side ? avail.x * 0.55f : avail.x, side ? avail.y : std::max(60.0f, avail.y * 0.55f));
  const int clicked = draw_bars(s, bars);
  if (clicked >= 0) {
    s.selected_bin = clicked;
    s.longest = longest_runs_in(*app.model, clicked, kListed);
  }
  if (side) ImGui::SameLine();
  if (s.selected_bin < 0) ImGui::TextDisabled("click a bar: its longest runs");
  else draw_longest(app, s);
  ImGui::End();
}

}  // namespace gs::viewer
