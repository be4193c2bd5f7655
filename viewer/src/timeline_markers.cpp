// timeline_markers.cpp: run-info dumps (gs::dump_run_info(), the dump
// signal) as markers on the hub's loop row. A dump has a time but no
// thread, so its process's first hub shows it.
#include <imgui.h>

#include "format.h"
#include "timeline.h"

namespace gs::viewer {
namespace {

constexpr ImU32 kMarker = IM_COL32(80, 200, 255, 255);
constexpr ImU32 kMarkerSelected = IM_COL32(255, 230, 60, 255);
constexpr float kHalfWidth = 5;

// first_hub() is the hub track that shows a process's dumps, UINT32_MAX none.
std::uint32_t first_hub(const analysis::Model& m, std::uint32_t process) {
  for (std::uint32_t t : m.processes[process].threads)
    if (m.threads[t].hub_track != UINT32_MAX) return m.threads[t].hub_track;
  return UINT32_MAX;
}

void marker_tooltip(const analysis::Model& m, std::size_t i) {
  const traceio::RunInfoDump& r = m.run_infos[i];
  ImGui::BeginTooltip();
  ImGui::Text("run-info dump at %s (%s)", format_time(r.time_ns).c_str(), r.trigger.c_str());
  ImGui::TextDisabled("click: the dump in Details");
  ImGui::EndTooltip();
}

}  // namespace

void draw_run_info_markers(App& app, TimelineFrame& f, std::uint32_t track, float y0, float y1) {
  const analysis::Model& m = *app.model;
  ImDrawList* dl = ImGui::GetWindowDrawList();
  for (std::size_t i = 0; i < m.run_infos.size(); ++i) {
    const std::uint32_t process = i < m.run_info_process.size() ? m.run_info_process[i] : 0;
    if (process >= m.processes.size() || first_hub(m, process) != track) continue;
    const std::int64_t t = m.run_infos[i].time_ns;
    if (t < f.map.range.begin || t > f.map.range.end) continue;
    const float x = f.map.x(t);
    const bool selected = app.selection.kind == Selection::Kind::RunInfo && app.selection.index == i;
    const ImU32 color = selected ? kMarkerSelected : kMarker;
    dl->AddLine(ImVec2(x, y0), ImVec2(x, y1), color, 2);
    dl->AddTriangleFilled(ImVec2(x - kHalfWidth, y0), ImVec2(x + kHalfWidth, y0), ImVec2(x, y0 + 2 * kHalfWidth), color);
    const Rect box{x - kHalfWidth - 1, y0, x + kHalfWidth + 1, y1};
    if (!app.notes.run_info.valid()) app.notes.run_info = box;
    if (f.mouse_x >= box.x0 && f.mouse_x < box.x1 && f.mouse_y >= box.y0 && f.mouse_y < box.y1) {
      f.hover_run_info = static_cast<std::int64_t>(i);
      if (!app.timeline.dragging) marker_tooltip(m, i);
    }
  }
}

}  // namespace gs::viewer
