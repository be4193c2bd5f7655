// panel_info.cpp: draw_info_panel(), what each trace file is: program, pid,
// host, duration, events, drops, and every problem found while reading it
// (with its byte offset), plus files that could not be opened at all and
// the run-info dumps recorded.
#include <imgui.h>

#include <ctime>

#include "format.h"
#include "layout.h"

namespace gs::viewer {
namespace {

std::string wall_time(std::int64_t ns) {
  const std::time_t t = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// warning() is a wrapped line in the warning colour.
template <class... Args>
void warning(const char* fmt, Args... args) {
  ImGui::PushStyleColor(ImGuiCol_Text, IM_COL32(255, 150, 90, 255));
  ImGui::TextWrapped(fmt, args...);
  ImGui::PopStyleColor();
}

void draw_process(const analysis::ProcessSummary& p) {
  const traceio::ProcessInfo& i = p.info;
  ImGui::TextWrapped("program %s", ui_text(i.program).c_str());
  if (!i.args.empty()) ImGui::TextWrapped("command %s", ui_text(traceio::command_line(i)).c_str());
  ImGui::TextWrapped("pid %llu on %s, started %s", static_cast<unsigned long long>(i.pid), ui_text(i.host).c_str(),
              wall_time(i.start_wall_ns).c_str());
  ImGui::TextWrapped("file %s (%s bytes, format %u.%u%s)", ui_text(p.path).c_str(), format_count(p.stats.file_bytes).c_str(), i.major,
              i.minor, i.flight_dump ? ", flight-recorder dump" : "");
  ImGui::TextWrapped("duration %s, %s events, %zu threads", format_duration(p.end_ns - p.begin_ns).c_str(),
              format_count(p.stats.events).c_str(), p.threads.size());
  if (p.stats.dropped > 0)
    warning("%s events dropped by the tracer (hatched on the timeline)", format_count(p.stats.dropped).c_str());
  if (!p.stats.clean_end) warning("%s", "no end record: the program died or was killed");
  if (p.problems.empty()) return;
  warning("%zu problems while reading:", p.problems.size());
  for (const traceio::Problem& pr : p.problems)
    warning("  at byte %llu: %s", static_cast<unsigned long long>(pr.offset), ui_text(pr.message).c_str());
}

void draw_run_infos(App& app) {
  const analysis::Model& m = *app.model;
  if (m.run_infos.empty()) return;
  ImGui::Separator();
  ImGui::Text("%zu run-info dumps (click to read):", m.run_infos.size());
  for (std::size_t i = 0; i < m.run_infos.size(); ++i) {
    const traceio::RunInfoDump& r = m.run_infos[i];
    const bool selected = app.selection.kind == Selection::Kind::RunInfo && app.selection.index == i;
    const std::string label = format_time(r.time_ns) + "  " + r.trigger + "##ri" + std::to_string(i);
    if (ImGui::Selectable(label.c_str(), selected)) app.selection = {Selection::Kind::RunInfo, 0, 0, i};
  }
}

}  // namespace

void draw_info_panel(App& app) {
  place_next_window(app, Panel::Info);
  ImGui::Begin("Trace info", nullptr, ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize);
  for (const LoadError& e : app.load_errors)
    warning("could not open %s: %s", e.path.c_str(), e.message.c_str());
  const analysis::Model& m = *app.model;
  for (std::size_t i = 0; i < m.processes.size(); ++i) {
    if (i > 0) ImGui::Separator();
    ImGui::PushID(static_cast<int>(i));
    draw_process(m.processes[i]);
    ImGui::PopID();
  }
  draw_run_infos(app);
  ImGui::End();
}

}  // namespace gs::viewer
