// menu_file.cpp: draw_main_menu(), the main menu bar: File (Open...,
// Close all, Quit), the files shown, and the live status when following.
// Open... asks for a path in a small modal (imgui has no file browser).
#include <GLFW/glfw3.h>
#include <imgui.h>

#include <cstdio>
#include <string>

#include "app.h"

namespace gs::viewer {
namespace {

constexpr const char* kOpenPopup = "Open trace";

// draw_open_dialog() is the modal: a path, Open or Cancel. Enter opens.
void draw_open_dialog(App& app) {
  static char path[1024] = {};
  if (app.open_dialog) {
    ImGui::OpenPopup(kOpenPopup);
    app.open_dialog = false;
  }
  if (!ImGui::BeginPopupModal(kOpenPopup, nullptr, ImGuiWindowFlags_AlwaysAutoResize)) return;
  ImGui::TextUnformatted("Trace file to add to the timeline (same time axis):");
  if (ImGui::IsWindowAppearing()) ImGui::SetKeyboardFocusHere();
  ImGui::SetNextItemWidth(520);
  const bool enter = ImGui::InputText("##path", path, sizeof path, ImGuiInputTextFlags_EnterReturnsTrue);
  ImGui::TextDisabled("or drop files on the window");
  if ((ImGui::Button("Open") || enter) && path[0] != '\0') {
    app.open_files({path});
    path[0] = '\0';
    ImGui::CloseCurrentPopup();
  }
  ImGui::SameLine();
  if (ImGui::Button("Cancel") || ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Escape))) ImGui::CloseCurrentPopup();
  ImGui::EndPopup();
}

void draw_file_menu(App& app) {
  if (!ImGui::BeginMenu("File")) return;
  if (ImGui::MenuItem("Open...")) app.open_dialog = true;
  if (ImGui::MenuItem("Close all", nullptr, false, !app.files.empty())) app.close_all();
  ImGui::Separator();
  if (ImGui::MenuItem("Quit")) glfwSetWindowShouldClose(glfwGetCurrentContext(), GLFW_TRUE);
  ImGui::EndMenu();
}

// draw_status() is the bar's right part: loading, following, recording.
void draw_status(App& app) {
  if (app.reloading()) {
    ImGui::TextDisabled("reading %zu file(s)... %.0f%%", app.files.size(), 100 * app.loader->progress());
    if (ImGui::SmallButton("cancel")) app.cancel_load();
  }
  else ImGui::TextDisabled("%zu file(s)", app.files.size());
  if (app.follow.enabled) {
    ImGui::Separator();
    if (ImGui::Checkbox("follow", &app.follow.pinned) && app.follow.pinned) follow_on_reloaded(app);
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("keep the view on the newest events (panning away turns it off)");
    if (app.live != nullptr) {
      ImGui::TextDisabled("live: %.1f MiB read, %llu updates", static_cast<double>(app.live->offset()) / (1 << 20),
                          static_cast<unsigned long long>(app.follow.updates));
    } else {
      ImGui::TextDisabled("not following (see the load errors)");
    }
  }
  if (!app.recorder.status().empty()) {
    ImGui::Separator();
    ImGui::TextUnformatted(app.recorder.status().c_str());
  }
}

}  // namespace

void draw_main_menu(App& app) {
  if (ImGui::BeginMainMenuBar()) {
    draw_file_menu(app);
    ImGui::Separator();
    draw_status(app);
    ImGui::EndMainMenuBar();
  }
  draw_open_dialog(app);
}

}  // namespace gs::viewer
