// layout.cpp: the tiled layout (no docking in imgui 1.86's regular branch).
#include "layout.h"

#include <imgui.h>

namespace gs::viewer {

// kWeights: the bottom row's share per panel. Details gets the most (stacks
// and run-info text are long), then the two tables, then the info.
constexpr float kWeights[kPanelCount] = {0, 3.2f, 2.4f, 2.6f, 1.8f};

Rect panel_rect(const bool (&shown)[kPanelCount], Panel p, float w, float h) {
  const auto index = static_cast<std::size_t>(p);
  if (!shown[index]) return {};
  float total = 0;
  for (std::size_t i = 1; i < kPanelCount; ++i) total += shown[i] ? kWeights[i] : 0;
  const float top_h = !shown[0] ? 0 : total == 0 ? h : h * 0.6f;
  if (p == Panel::Timeline) return {0, 0, w, top_h};
  float x0 = 0;
  for (std::size_t i = 1; i < index; ++i) x0 += shown[i] ? w * kWeights[i] / total : 0;
  return {x0, top_h, x0 + w * kWeights[index] / total, h};
}

void place_next_window(const App& app, Panel p) {
  const ImVec2 size = ImGui::GetIO().DisplaySize;
  const Rect r = panel_rect(app.options.panels, p, size.x, size.y);
  ImGui::SetNextWindowPos(ImVec2(r.x0, r.y0), ImGuiCond_Always);
  ImGui::SetNextWindowSize(ImVec2(r.x1 - r.x0, r.y1 - r.y0), ImGuiCond_Always);
}

}  // namespace gs::viewer
