// layout.cpp: the tiled layout (no docking in imgui 1.86's regular branch).
#include "layout.h"

#include <imgui.h>

#include <algorithm>
#include <vector>

namespace gs::viewer {
namespace {

// kOrder: the bottom panels left to right, top row first. Details (stacks
// and run-info text are long) gets a full-height column on the left when
// the others need two rows.
constexpr Panel kOrder[] = {Panel::Stalls, Panel::Greenlets, Panel::Search,
                            Panel::Callbacks, Panel::Histogram, Panel::Info};
constexpr float kWeights[kPanelCount] = {0, 3.2f, 2.4f, 2.6f, 1.8f, 2.4f, 2.4f, 2.4f};

// bottom_rect() places panel p among the bottom panels: one row of up to
// four (Details included), else Details on the left and the rest in two rows.
Rect bottom_rect(const bool (&shown)[kPanelCount], Panel p, float w, float y0, float h) {
  std::vector<Panel> row;
  for (Panel q : kOrder)
    if (shown[static_cast<std::size_t>(q)]) row.push_back(q);
  const bool details = shown[static_cast<std::size_t>(Panel::Details)];
  float left = 0;
  if (details && row.size() > 3) left = w * 0.3f;
  else if (details) row.insert(row.begin(), Panel::Details);
  if (p == Panel::Details && left > 0) return {0, y0, left, h};
  const std::size_t rows = row.size() > 3 ? 2 : 1;
  const std::size_t per_row = (row.size() + rows - 1) / rows;
  const auto at = static_cast<std::size_t>(std::find(row.begin(), row.end(), p) - row.begin());
  const std::size_t r = at / per_row, first = r * per_row, last = std::min(row.size(), first + per_row);
  float total = 0, x0 = left;
  for (std::size_t i = first; i < last; ++i) total += kWeights[static_cast<std::size_t>(row[i])];
  for (std::size_t i = first; i < at; ++i) x0 += (w - left) * kWeights[static_cast<std::size_t>(row[i])] / total;
  const float row_h = (h - y0) / static_cast<float>(rows);
  const float x1 = x0 + (w - left) * kWeights[static_cast<std::size_t>(p)] / total;
  return {x0, y0 + row_h * static_cast<float>(r), x1, y0 + row_h * static_cast<float>(r + 1)};
}

}  // namespace

Rect panel_rect(const bool (&shown)[kPanelCount], Panel p, float w, float h) {
  const auto index = static_cast<std::size_t>(p);
  if (!shown[index]) return {};
  bool any_bottom = false;
  for (std::size_t i = 1; i < kPanelCount; ++i) any_bottom = any_bottom || shown[i];
  const float top_h = !shown[0] ? 0 : !any_bottom ? h : h * 0.58f;
  if (p == Panel::Timeline) return {0, 0, w, top_h};
  return bottom_rect(shown, p, w, top_h, h);
}

void place_next_window(const App& app, Panel p) {
  const ImVec2 size = ImGui::GetIO().DisplaySize;
  const float menu = ImGui::GetFrameHeight();  // the main menu bar's
  Rect r = panel_rect(app.options.panels, p, size.x, size.y - menu);
  r.y0 += menu;
  r.y1 += menu;
  ImGui::SetNextWindowPos(ImVec2(r.x0, r.y0), ImGuiCond_Always);
  ImGui::SetNextWindowSize(ImVec2(r.x1 - r.x0, r.y1 - r.y0), ImGuiCond_Always);
}

}  // namespace gs::viewer
