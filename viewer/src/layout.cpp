// layout.cpp: the tiled layout (no docking in imgui 1.86's regular branch).
#include "layout.h"

#include <imgui.h>

namespace gs::viewer {

Rect panel_rect(const bool (&shown)[kPanelCount], Panel p, float w, float h) {
  if (!shown[static_cast<std::size_t>(p)]) return {};
  const bool timeline = shown[0];
  int below = 0;
  for (std::size_t i = 1; i < kPanelCount; ++i) below += shown[i] ? 1 : 0;
  const float top_h = !timeline ? 0 : below == 0 ? h : h * 0.6f;
  if (p == Panel::Timeline) return {0, 0, w, top_h};
  // The details panel gets the widest slot: stacks and run-info text are long.
  const bool details = shown[static_cast<std::size_t>(Panel::Details)];
  const float details_w = !details ? 0 : below == 1 ? w : w * 0.4f;
  if (p == Panel::Details) return {0, top_h, details_w, h};
  const int others = below - (details ? 1 : 0);
  const float slot = (w - details_w) / static_cast<float>(others);
  int k = 0;
  for (std::size_t i = 2; i < static_cast<std::size_t>(p); ++i) k += shown[i] ? 1 : 0;
  const float x0 = details_w + slot * static_cast<float>(k);
  return {x0, top_h, x0 + slot, h};
}

void place_next_window(const App& app, Panel p) {
  const ImVec2 size = ImGui::GetIO().DisplaySize;
  const Rect r = panel_rect(app.options.panels, p, size.x, size.y);
  ImGui::SetNextWindowPos(ImVec2(r.x0, r.y0), ImGuiCond_Always);
  ImGui::SetNextWindowSize(ImVec2(r.x1 - r.x0, r.y1 - r.y0), ImGuiCond_Always);
}

}  // namespace gs::viewer
