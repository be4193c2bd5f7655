// panel_stalls.cpp: draw_stalls_panel(), every stall, longest first. A click
// selects the stall and zooms the timeline to it.
#include <imgui.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "format.h"
#include "greenscope/analysis/stall_model.h"
#include "layout.h"
#include "span_text.h"

namespace gs::viewer {
namespace {

// by_length() lists stall indices longest first (ties by start), sorted
// once per model.
const std::vector<std::size_t>& by_length(const App& app) {
  static std::uint64_t cached_for = 0;
  static std::vector<std::size_t> order;
  const analysis::Model& m = *app.model;
  if (cached_for != app.generation) {
    order.resize(m.stalls.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&m](std::size_t a, std::size_t b) {
      return m.stalls[a].duration_ns > m.stalls[b].duration_ns;
    });
    cached_for = app.generation;
  }
  return order;
}

}  // namespace

void draw_stalls_panel(App& app) {
  place_next_window(app, Panel::Stalls);
  ImGui::Begin("Stalls", nullptr, ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize);
  const analysis::Model& m = *app.model;
  if (m.stalls.empty()) {
    ImGui::TextWrapped("No stalls: no hub was kept from its loop past the stall monitor's threshold.");
    ImGui::End();
    return;
  }
  ImGui::TextWrapped("%zu stalls, longest first (click: select and zoom to it)", m.stalls.size());
  const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollY | ImGuiTableFlags_ScrollX |
                                ImGuiTableFlags_Resizable | ImGuiTableFlags_BordersInnerV;
  if (ImGui::BeginTable("stalls", 5, flags)) {
    ImGui::TableSetupScrollFreeze(0, 1);
    ImGui::TableSetupColumn("duration", ImGuiTableColumnFlags_WidthFixed, 70);
    ImGui::TableSetupColumn("at", ImGuiTableColumnFlags_WidthFixed, 90);
    ImGui::TableSetupColumn("verdict", ImGuiTableColumnFlags_WidthFixed, 150);
    ImGui::TableSetupColumn("culprit", ImGuiTableColumnFlags_WidthFixed, 200);
    ImGui::TableSetupColumn("in (the program's own function, samples)", ImGuiTableColumnFlags_WidthFixed, 420);
    ImGui::TableHeadersRow();
    const auto& order = by_length(app);
    ImGuiListClipper clipper;
    clipper.Begin(static_cast<int>(order.size()));
    while (clipper.Step()) {
      for (int row = clipper.DisplayStart; row < clipper.DisplayEnd; ++row) {
        const std::size_t i = order[static_cast<std::size_t>(row)];
        const traceio::StallInfo& s = m.stalls[i];
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        const bool selected = app.selection.kind == Selection::Kind::Stall && app.selection.index == i;
        const std::string id = format_duration(s.duration_ns) + (s.ended() ? "" : "+") + "##s" + std::to_string(i);
        if (ImGui::Selectable(id.c_str(), selected, ImGuiSelectableFlags_SpanAllColumns)) select_stall(app, i, true);
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(format_time(s.start_ns).c_str());
        const analysis::StallSummary summary = m.stall_summary(i);
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(s.has_end || !s.samples.empty() ? verdict::short_text(summary.verdict).c_str() : "?");
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(stall_culprit(m, i).c_str());
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(summary.functions.samples > 0 ? summary.functions.line(1).c_str() : "-");
      }
    }
    ImGui::EndTable();
  }
  ImGui::End();
}

}  // namespace gs::viewer
