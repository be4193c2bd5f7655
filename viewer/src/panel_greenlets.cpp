// panel_greenlets.cpp: draw_greenlets_panel(), every greenlet in a table
// sortable by its totals, filtered by name. A click selects it and shows
// its lifetime on the timeline.
#include <imgui.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "format.h"
#include "layout.h"

namespace gs::viewer {
namespace {

enum Column : int { kName, kId, kRunning, kRuns, kLongest, kWaiting, kColumnCount };

// GreenletRows is the table's row order, redone when the sort or filter changes.
struct GreenletRows {
  std::uint64_t generation = 0;  // App::generation the order is for
  std::vector<std::size_t> order;
  ImGuiTextFilter filter;
  bool dirty = true;
};

std::int64_t column_value(const analysis::GreenletSummary& g, int column) {
  switch (column) {
    case kId: return static_cast<std::int64_t>(g.id);
    case kRunning: return g.running_ns;
    case kRuns: return static_cast<std::int64_t>(g.runs);
    case kLongest: return g.longest_run_ns;
    case kWaiting: return g.waiting_ns;
    default: return 0;
  }
}

void sort_rows(GreenletRows& rows, const analysis::Model& m, const ImGuiTableColumnSortSpecs& spec) {
  rows.order.clear();
  for (std::size_t i = 0; i < m.greenlets.size(); ++i)
    if (rows.filter.PassFilter(m.text(m.greenlets[i].name).c_str())) rows.order.push_back(i);
  const int column = spec.ColumnUserID;
  const bool ascending = spec.SortDirection == ImGuiSortDirection_Ascending;
  std::stable_sort(rows.order.begin(), rows.order.end(), [&](std::size_t a, std::size_t b) {
    const auto& ga = m.greenlets[a];
    const auto& gb = m.greenlets[b];
    if (column == kName) {
      const int c = m.text(ga.name).compare(m.text(gb.name));
      return ascending ? c < 0 : c > 0;
    }
    const std::int64_t va = column_value(ga, column), vb = column_value(gb, column);
    return ascending ? va < vb : va > vb;
  });
}

void setup_columns() {
  ImGui::TableSetupScrollFreeze(0, 1);
  ImGui::TableSetupColumn("name", ImGuiTableColumnFlags_WidthFixed, 110, kName);
  ImGui::TableSetupColumn("id", ImGuiTableColumnFlags_WidthFixed, 40, kId);
  ImGui::TableSetupColumn("running", ImGuiTableColumnFlags_WidthFixed | ImGuiTableColumnFlags_DefaultSort |
                                         ImGuiTableColumnFlags_PreferSortDescending, 70, kRunning);
  ImGui::TableSetupColumn("runs", ImGuiTableColumnFlags_WidthFixed | ImGuiTableColumnFlags_PreferSortDescending, 50, kRuns);
  ImGui::TableSetupColumn("longest run", ImGuiTableColumnFlags_WidthFixed | ImGuiTableColumnFlags_PreferSortDescending, 80,
                          kLongest);
  ImGui::TableSetupColumn("waiting", ImGuiTableColumnFlags_WidthFixed | ImGuiTableColumnFlags_PreferSortDescending, 70,
                          kWaiting);
  ImGui::TableHeadersRow();
}

void draw_row(App& app, const analysis::GreenletSummary& g, std::size_t i) {
  const analysis::Model& m = *app.model;
  ImGui::TableNextRow();
  ImGui::TableNextColumn();
  const bool selected = app.selection.kind == Selection::Kind::Greenlet && app.selection.index == i;
  const std::string name = m.text(g.name).empty() ? "(unnamed)" : m.text(g.name);
  if (ImGui::Selectable((name + "##g" + std::to_string(i)).c_str(), selected, ImGuiSelectableFlags_SpanAllColumns))
    select_greenlet(app, i, true);
  ImGui::TableNextColumn();
  ImGui::Text("%llu", static_cast<unsigned long long>(g.id));
  ImGui::TableNextColumn();
  ImGui::TextUnformatted(format_duration(g.running_ns).c_str());
  ImGui::TableNextColumn();
  ImGui::TextUnformatted(format_count(g.runs).c_str());
  ImGui::TableNextColumn();
  ImGui::TextUnformatted(format_duration(g.longest_run_ns).c_str());
  ImGui::TableNextColumn();
  ImGui::TextUnformatted(format_duration(g.waiting_ns).c_str());
}

}  // namespace

void draw_greenlets_panel(App& app) {
  static GreenletRows rows;
  place_next_window(app, Panel::Greenlets);
  ImGui::Begin("Greenlets", nullptr, ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize);
  const analysis::Model& m = *app.model;
  if (rows.generation != app.generation) {
    rows.generation = app.generation;
    rows.dirty = true;
  }
  if (rows.filter.Draw("##filter", 160)) rows.dirty = true;
  ImGui::SameLine();
  ImGui::TextDisabled("filter by name;");
  ImGui::SameLine();
  ImGui::TextDisabled("%zu greenlets", m.greenlets.size());
  const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollY | ImGuiTableFlags_Sortable |
                                ImGuiTableFlags_ScrollX | ImGuiTableFlags_Resizable | ImGuiTableFlags_BordersInnerV;
  if (ImGui::BeginTable("greenlets", kColumnCount, flags)) {
    setup_columns();
    ImGuiTableSortSpecs* specs = ImGui::TableGetSortSpecs();
    if (specs != nullptr && specs->SpecsCount > 0 && (specs->SpecsDirty || rows.dirty)) {
      sort_rows(rows, m, specs->Specs[0]);
      specs->SpecsDirty = rows.dirty = false;
    }
    ImGuiListClipper clipper;
    clipper.Begin(static_cast<int>(rows.order.size()));
    while (clipper.Step())
      for (int r = clipper.DisplayStart; r < clipper.DisplayEnd; ++r) {
        const std::size_t i = rows.order[static_cast<std::size_t>(r)];
        draw_row(app, m.greenlets[i], i);
      }
    ImGui::EndTable();
  }
  ImGui::End();
}

}  // namespace gs::viewer
