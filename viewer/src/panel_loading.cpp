// panel_loading.cpp: draw_loading_panel(), the progress bar shown while the
// loader's thread reads the traces (the window stays responsive).
#include <imgui.h>

#include <algorithm>

#include "app.h"

namespace gs::viewer {

void draw_loading_panel(App& app) {
  const ImVec2 size = ImGui::GetIO().DisplaySize;
  ImGui::SetNextWindowPos(ImVec2(size.x * 0.5f, size.y * 0.4f), ImGuiCond_Always, ImVec2(0.5f, 0.5f));
  ImGui::SetNextWindowSize(ImVec2(std::min(600.0f, size.x - 20), 0), ImGuiCond_Always);
  ImGui::Begin("Loading", nullptr, ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize);
  if (app.loader) {
    const std::string file = app.loader->current_file();
    ImGui::TextWrapped("Reading %s", file.empty() ? "..." : file.c_str());
    ImGui::ProgressBar(static_cast<float>(app.loader->progress()), ImVec2(-1, 0));
    ImGui::TextDisabled("%zu file(s); the timeline opens when all are read", app.files.size());
    // Cancel: a trace too big to wait for; the window stays, File > Open works.
    if (ImGui::Button("Cancel")) app.close_all();
  }
  ImGui::End();
}

}  // namespace gs::viewer
