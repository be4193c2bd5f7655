// timeline_input.cpp: the timeline's mouse and keys. Wheel zooms at the
// cursor, drag pans (and scrolls the rows), click selects, double click
// zooms to the item, arrows/WASD pan and zoom, Alt+Left/Right and the
// mouse's back/forward buttons walk the view history.
#include <imgui.h>

#include <cmath>

#include "timeline.h"

namespace gs::viewer {
namespace {

constexpr int kKeyA = 'A', kKeyD = 'D', kKeyS = 'S', kKeyW = 'W';  // GLFW key codes are ASCII

bool key_pressed(ImGuiKey key) { return ImGui::IsKeyPressed(ImGui::GetKeyIndex(key)); }

void handle_keys(App& app) {
  const ImGuiIO& io = ImGui::GetIO();
  if (io.WantTextInput) return;
  TimeView& v = app.view;
  const Range r = v.range();
  const std::int64_t mid = r.begin + r.length() / 2;
  if (io.KeyAlt) {
    if (key_pressed(ImGuiKey_LeftArrow)) v.back();
    if (key_pressed(ImGuiKey_RightArrow)) v.forward();
    return;
  }
  if (key_pressed(ImGuiKey_LeftArrow) || ImGui::IsKeyPressed(kKeyA)) v.pan(-r.length() / 8);
  if (key_pressed(ImGuiKey_RightArrow) || ImGui::IsKeyPressed(kKeyD)) v.pan(r.length() / 8);
  if (key_pressed(ImGuiKey_UpArrow) || ImGui::IsKeyPressed(kKeyW)) v.zoom(0.8, mid);
  if (key_pressed(ImGuiKey_DownArrow) || ImGui::IsKeyPressed(kKeyS)) v.zoom(1.25, mid);
}

// on_click() selects what is under the mouse, or clears the selection.
void on_click(App& app, const TimelineFrame& f) {
  if (f.hover_run_info >= 0) {  // a marker sits on top of the loop's spans
    app.selection = {Selection::Kind::RunInfo, 0, 0, static_cast<std::size_t>(f.hover_run_info)};
    return;
  }
  if (!f.hover.valid) {
    app.selection = {};
    return;
  }
  if (f.hover.block.count > 1) {  // a folded block: show its spans
    app.view.jump({f.hover.block.begin, f.hover.block.end});
    return;
  }
  select_span(app, f.hover.track, f.hover.level, f.hover.block.first);
}

void handle_mouse(App& app, TimelineFrame& f, bool hovered) {
  const ImGuiIO& io = ImGui::GetIO();
  TimelineState& s = app.timeline;
  if (hovered && io.MouseWheel != 0 && !io.KeyShift) {
    if (!s.wheel_streak) app.view.commit();
    s.wheel_streak = true;
    app.view.zoom(std::pow(0.8, static_cast<double>(io.MouseWheel)), f.map.ns(f.mouse_x));
  }
  if (hovered && ImGui::IsMouseClicked(ImGuiMouseButton_Left)) {
    s.pressed = true;
    s.dragging = false;
  }
  if (s.pressed && ImGui::IsMouseDragging(ImGuiMouseButton_Left)) {
    if (!s.dragging) app.view.commit();
    s.wheel_streak = false;
    s.dragging = true;
    app.view.pan(static_cast<std::int64_t>(-io.MouseDelta.x * f.map.ns_per_px()));
    s.scroll_y -= io.MouseDelta.y;
  }
  if (s.pressed && ImGui::IsMouseReleased(ImGuiMouseButton_Left)) {
    if (!s.dragging) on_click(app, f);
    s.pressed = s.dragging = false;
  }
  if (hovered && ImGui::IsMouseDoubleClicked(ImGuiMouseButton_Left) && f.hover.valid) {
    s.wheel_streak = false;
    zoom_to(app, f.hover.block.begin, f.hover.block.end);
  }
  if (ImGui::IsMouseClicked(3)) app.view.back();
  if (ImGui::IsMouseClicked(4)) app.view.forward();
}

}  // namespace

void handle_timeline_input(App& app, TimelineFrame& f, bool hovered) {
  // A click or a key ends a wheel streak: the next turn is a new history step.
  if (ImGui::IsAnyMouseDown() || !ImGui::GetIO().InputQueueCharacters.empty()) app.timeline.wheel_streak = false;
  handle_mouse(app, f, hovered);
  handle_keys(app);
}

}  // namespace gs::viewer
