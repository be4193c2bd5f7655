// panel_search.cpp: draw_search_panel(), a greenlet name or a function
// name anywhere in any stack (waits, blocking calls, stall samples,
// crashes). The hits are redone as the query changes; a click selects the
// hit's item and zooms the timeline to it.
#include <imgui.h>

#include <algorithm>

#include "layout.h"
#include "search.h"

namespace gs::viewer {
namespace {

constexpr std::size_t kMinQuery = 2;  // one letter matches nearly everything

// item_rect() is the last item's rectangle cut to its window (a long hit
// line runs past the panel's right edge).
Rect item_rect() {
  const ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
  const float right = ImGui::GetWindowPos().x + ImGui::GetWindowSize().x;
  return {a.x, a.y, std::min(b.x, right), b.y};
}

// refresh() redoes the hits when the query or the model changed.
void refresh(App& app) {
  SearchState& s = app.search;
  const std::string q = s.query;
  if (q == s.searched && s.generation == app.generation) return;
  s.searched = q;
  s.generation = app.generation;
  s.hits.clear();
  s.more = false;
  if (q.size() >= kMinQuery) s.hits = search_model(*app.model, q, &s.more);
}

void draw_hits(App& app) {
  const SearchState& s = app.search;
  ImGui::BeginChild("hits", ImVec2(0, 0), false, ImGuiWindowFlags_HorizontalScrollbar);
  ImGuiListClipper clipper;
  clipper.Begin(static_cast<int>(s.hits.size()));
  while (clipper.Step()) {
    for (int row = clipper.DisplayStart; row < clipper.DisplayEnd; ++row) {
      const SearchHit& h = s.hits[static_cast<std::size_t>(row)];
      ImGui::PushID(row);
      if (ImGui::Selectable(h.text.c_str(), app.selection == h.what)) select_and_show(app, h.what);
      if (row == 0) app.notes.search_first_hit = item_rect();
      ImGui::PopID();
    }
  }
  ImGui::EndChild();
}

}  // namespace

void draw_search_panel(App& app) {
  place_next_window(app, Panel::Search);
  ImGui::Begin("Search", nullptr, ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize);
  ImGui::SetNextItemWidth(-1);
  ImGui::InputTextWithHint("##query", "greenlet or function name", app.search.query, sizeof app.search.query);
  app.notes.search_input = item_rect();
  refresh(app);
  const SearchState& s = app.search;
  if (s.searched.size() < kMinQuery) ImGui::TextDisabled("names of greenlets, functions in any stack");
  else ImGui::TextDisabled("%zu hits%s (click: select and zoom to it)", s.hits.size(), s.more ? "+ (more not listed)" : "");
  draw_hits(app);
  ImGui::End();
}

}  // namespace gs::viewer
