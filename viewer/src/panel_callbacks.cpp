// panel_callbacks.cpp: draw_callbacks_panel(), the hub's callbacks by kind
// (each watcher kind, run_callback): how many, their total and their
// longest. A slow kind is where a hub loses its time; a click jumps to
// that kind's longest callback.
#include <imgui.h>

#include "format.h"
#include "layout.h"
#include "model_stats.h"

namespace gs::viewer {
namespace {

// stats_for() is callback_stats() of the shown model, computed once per model.
const std::vector<CallbackStats>& stats_for(const App& app) {
  static std::uint64_t generation = 0;
  static std::vector<CallbackStats> stats;
  if (generation != app.generation) {
    stats = callback_stats(*app.model);
    generation = app.generation;
  }
  return stats;
}

void stats_row(App& app, const CallbackStats& s) {
  ImGui::TableNextRow();
  ImGui::TableNextColumn();
  const std::string id = s.kind + "##cb";
  if (ImGui::Selectable(id.c_str(), false, ImGuiSelectableFlags_SpanAllColumns))
    select_and_show(app, {Selection::Kind::Span, s.longest.track, s.longest.level, s.longest.index});
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("click: the longest %s callback", s.kind.c_str());
  ImGui::TableNextColumn();
  ImGui::TextUnformatted(format_count(s.count).c_str());
  ImGui::TableNextColumn();
  ImGui::TextUnformatted(format_duration(s.total_ns).c_str());
  ImGui::TableNextColumn();
  ImGui::TextUnformatted(format_duration(s.max_ns).c_str());
}

}  // namespace

void draw_callbacks_panel(App& app) {
  place_next_window(app, Panel::Callbacks);
  ImGui::Begin("Hub callbacks", nullptr, ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize);
  const std::vector<CallbackStats>& stats = stats_for(app);
  if (stats.empty()) {
    ImGui::TextWrapped("No watcher or run_callback() callbacks recorded.");
    ImGui::End();
    return;
  }
  const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollY | ImGuiTableFlags_BordersInnerV;
  if (ImGui::BeginTable("callbacks", 4, flags)) {
    ImGui::TableSetupScrollFreeze(0, 1);
    ImGui::TableSetupColumn("kind", ImGuiTableColumnFlags_WidthStretch);
    ImGui::TableSetupColumn("count", ImGuiTableColumnFlags_WidthFixed, 60);
    ImGui::TableSetupColumn("total", ImGuiTableColumnFlags_WidthFixed, 64);
    ImGui::TableSetupColumn("max", ImGuiTableColumnFlags_WidthFixed, 64);
    ImGui::TableHeadersRow();
    for (const CallbackStats& s : stats) stats_row(app, s);
    ImGui::EndTable();
  }
  ImGui::End();
}

}  // namespace gs::viewer
