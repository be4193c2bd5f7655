// panel_timeline.cpp: draw_timeline_panel(), the main view: a toolbar, the
// time ruler, then per process and thread a collapsible group of tracks
// (hub, greenlets, thread-pool jobs) drawn with ImDrawList as Tracy does.
#include <imgui.h>

#include <algorithm>
#include <string>

#include "format.h"
#include "layout.h"
#include "timeline.h"

namespace gs::viewer {
namespace {

void draw_toolbar(App& app, const TimelineFrame& f, bool hovered) {
  ImGui::BeginDisabled(!app.view.can_back());
  if (ImGui::ArrowButton("back", ImGuiDir_Left)) app.view.back();
  ImGui::EndDisabled();
  if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled)) ImGui::SetTooltip("back (Alt+Left)");
  ImGui::SameLine();
  ImGui::BeginDisabled(!app.view.can_forward());
  if (ImGui::ArrowButton("forward", ImGuiDir_Right)) app.view.forward();
  ImGui::EndDisabled();
  if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled)) ImGui::SetTooltip("forward (Alt+Right)");
  ImGui::SameLine();
  if (ImGui::Button("whole trace")) {
    const analysis::Model& m = *app.model;
    zoom_to(app, m.begin_ns(), std::max(m.end_ns(), m.begin_ns() + 1));
  }
  ImGui::SameLine();
  const Range r = app.view.range();
  ImGui::Text("%s .. %s  (%s shown)", format_time(r.begin).c_str(), format_time(r.end).c_str(),
              format_duration(r.length()).c_str());
  if (hovered) {
    ImGui::SameLine();
    ImGui::TextDisabled("   cursor at %s", format_time(f.map.ns(f.mouse_x)).c_str());
  }
}

// thread_has_rows() is false for threads with nothing to draw (the stall
// monitor's own thread records stalls but runs no greenlets).
bool thread_has_rows(const analysis::ThreadSummary& th) {
  return th.hub_track != UINT32_MAX || !th.greenlet_tracks.empty() || th.worker_track != UINT32_MAX;
}

bool thread_holds(const analysis::ThreadSummary& th, std::uint32_t track) {
  if (track == UINT32_MAX) return false;
  return th.hub_track == track || th.worker_track == track ||
         std::find(th.greenlet_tracks.begin(), th.greenlet_tracks.end(), track) != th.greenlet_tracks.end();
}

void draw_thread(App& app, TimelineFrame& f, std::uint32_t thread) {
  const analysis::Model& m = *app.model;
  const analysis::ThreadSummary& th = m.threads[thread];
  if (thread_holds(th, app.scroll_to_track)) ImGui::SetNextItemOpen(true);
  const std::string name = m.text(th.name).empty() ? "thread " + std::to_string(th.index) : m.text(th.name);
  const std::string label = name + "  (tid " + std::to_string(th.os_tid) + ", " +
                            std::to_string(th.greenlet_tracks.size()) + " greenlets)###t" + std::to_string(thread);
  if (!ImGui::TreeNodeEx(label.c_str(), ImGuiTreeNodeFlags_DefaultOpen)) return;
  if (th.hub_track != UINT32_MAX) draw_track(app, f, th.hub_track);
  for (std::uint32_t t : th.greenlet_tracks) draw_track(app, f, t);
  if (th.worker_track != UINT32_MAX) draw_track(app, f, th.worker_track);
  ImGui::TreePop();
}

void draw_process(App& app, TimelineFrame& f, std::uint32_t process) {
  const analysis::Model& m = *app.model;
  const analysis::ProcessSummary& p = m.processes[process];
  bool holds = false;
  for (std::uint32_t t : p.threads) holds = holds || thread_holds(m.threads[t], app.scroll_to_track);
  if (holds) ImGui::SetNextItemOpen(true);
  const std::string label = ui_text(p.info.program) + "  (pid " + std::to_string(p.info.pid) + ", " + ui_text(p.path) + ")###p" +
                            std::to_string(process);
  if (!ImGui::TreeNodeEx(label.c_str(), ImGuiTreeNodeFlags_DefaultOpen | ImGuiTreeNodeFlags_Framed)) return;
  for (std::uint32_t t : p.threads)
    if (thread_has_rows(m.threads[t])) draw_thread(app, f, t);
  ImGui::TreePop();
}

// draw_tracks() is the scrolling child under the ruler. The wheel is the
// timeline's zoom, so the child scrolls with Shift+wheel, a vertical drag,
// or its scrollbar.
void draw_tracks(App& app, TimelineFrame& f) {
  ImGui::BeginChild("tracks", ImVec2(0, 0), false, ImGuiWindowFlags_NoScrollWithMouse);
  const ImGuiIO& io = ImGui::GetIO();
  if (app.timeline.scroll_y != 0) ImGui::SetScrollY(ImGui::GetScrollY() + app.timeline.scroll_y);
  app.timeline.scroll_y = 0;
  if (io.KeyShift && io.MouseWheel != 0 && ImGui::IsWindowHovered())
    ImGui::SetScrollY(ImGui::GetScrollY() - io.MouseWheel * kRowHeight * 3);
  const ImVec2 top = ImGui::GetWindowPos();
  draw_grid(ImGui::GetWindowDrawList(), f, top.y, top.y + ImGui::GetWindowHeight());
  for (std::uint32_t p = 0; p < app.model->processes.size(); ++p) draw_process(app, f, p);
  draw_switch_arrows(app, f);
  ImGui::EndChild();
}

void draw_no_trace(const App& app) {
  if (app.load_errors.empty()) {
    ImGui::TextWrapped("No trace loaded. Open one with: greenscope-viewer FILE.gstrace "
                       "(record it with `greenscope record -o FILE.gstrace -- ./program`).");
    return;
  }
  ImGui::PushStyleColor(ImGuiCol_Text, IM_COL32(255, 120, 100, 255));
  ImGui::TextUnformatted("No trace could be opened:");
  for (const LoadError& e : app.load_errors) ImGui::BulletText("%s: %s", e.path.c_str(), e.message.c_str());
  ImGui::PopStyleColor();
}

}  // namespace

void draw_timeline_panel(App& app) {
  place_next_window(app, Panel::Timeline);
  ImGui::Begin("Timeline", nullptr, ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize);
  if (app.model->processes.empty()) {
    draw_no_trace(app);
    ImGui::End();
    return;
  }
  TimelineFrame f;
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const float right = ImGui::GetWindowPos().x + ImGui::GetWindowContentRegionMax().x;
  f.map = {app.view.range(), origin.x + kLabelWidth, std::max(right, origin.x + kLabelWidth + 50)};
  f.mouse_x = ImGui::GetIO().MousePos.x;
  f.mouse_y = ImGui::GetIO().MousePos.y;
  const bool over_time = f.mouse_x >= f.map.x0 && f.mouse_x < f.map.x1;
  const bool hovered = over_time && ImGui::IsWindowHovered(ImGuiHoveredFlags_ChildWindows);
  draw_toolbar(app, f, hovered);
  const ImVec2 ruler = ImGui::GetCursorScreenPos();
  ImGui::Dummy(ImVec2(f.map.x1 - ruler.x, kRulerHeight));
  ImDrawList* dl = ImGui::GetWindowDrawList();
  draw_ruler(dl, f, ruler.y, ruler.y + kRulerHeight);
  draw_tracks(app, f);
  const bool over_tracks = hovered && f.mouse_y >= ruler.y;
  if (over_tracks) {
    dl->AddLine(ImVec2(f.mouse_x, ruler.y), ImVec2(f.mouse_x, ruler.y + kRulerHeight), IM_COL32(255, 255, 255, 160));
    if (!app.timeline.dragging && f.hover_run_info < 0) draw_hover_tooltip(app, f);
  }
  handle_timeline_input(app, f, over_tracks);
  ImGui::End();
}

}  // namespace gs::viewer
