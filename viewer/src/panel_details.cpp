// panel_details.cpp: draw_details_panel(), everything known about the
// selected item: a greenlet's life and totals, a run, a wait with its stack,
// a stall with its merged stack samples, a crash, a run-info dump.
#include <imgui.h>

#include <algorithm>
#include <map>
#include <vector>

#include "flame_graph.h"
#include "format.h"
#include "greenscope/analysis/stall_model.h"
#include "layout.h"
#include "span_text.h"

namespace gs::viewer {
namespace {

using analysis::SpanKind;

// heading() prints the panel's first line and keeps it for the state dump.
void heading(App& app, const std::string& text) {
  app.notes.details_heading = text;
  ImGui::PushStyleColor(ImGuiCol_Text, IM_COL32(255, 230, 120, 255));
  ImGui::TextWrapped("%s", text.c_str());
  ImGui::PopStyleColor();
  ImGui::Separator();
}

void stack_lines(const analysis::Model& m, std::uint32_t process, std::uint64_t stack) {
  if (stack == 0) {
    ImGui::TextDisabled("(no stack recorded)");
    return;
  }
  const std::vector<std::string> lines = m.frame_lines(process, stack);
  if (lines.empty()) ImGui::TextDisabled("(stack %llu was lost)", static_cast<unsigned long long>(stack));
  for (const std::string& l : lines) ImGui::TextUnformatted(l.c_str());
}

void greenlet_body(App& app, const analysis::GreenletSummary& g) {
  const analysis::Model& m = *app.model;
  ImGui::Text("id %llu, thread %u", static_cast<unsigned long long>(g.id), m.threads[g.thread].index);
  if (g.spawner != 0) ImGui::Text("spawned by %s", greenlet_label(m, g.process, g.spawner).c_str());
  ImGui::Text("lifetime: %s .. %s", g.spawn_ns >= 0 ? format_time(g.spawn_ns).c_str() : "(before the trace)",
              g.exit_ns >= 0 ? format_time(g.exit_ns).c_str() : "(alive at the end)");
  if (g.exit_ns >= 0) {
    ImGui::Text("exit: %s", std::string(traceio::to_string(g.exit_kind)).c_str());
    if (g.error != 0) ImGui::TextColored(ImVec4(1, 0.5f, 0.4f, 1), "error: %s", m.text(g.error).c_str());
  }
  ImGui::Text("running %s in %s runs, the longest %s", format_duration(g.running_ns).c_str(),
              format_count(g.runs).c_str(), format_duration(g.longest_run_ns).c_str());
  ImGui::Text("waiting %s:", format_duration(g.waiting_ns).c_str());
  for (std::size_t r = 0; r < trace_format::kReasonCount; ++r)
    if (g.wait_ns[r] > 0)
      ImGui::BulletText("%-8s %s", std::string(traceio::to_string(static_cast<traceio::Reason>(r))).c_str(),
                        format_duration(g.wait_ns[r]).c_str());
}

void greenlet_details(App& app, std::size_t i) {
  const analysis::GreenletSummary& g = app.model->greenlets[i];
  heading(app, "Greenlet " + greenlet_label(*app.model, g.process, g.id));
  greenlet_body(app, g);
}

void span_body(App& app, const analysis::Track& t, const analysis::SpanColumns& col, std::size_t i) {
  const analysis::Model& m = *app.model;
  const analysis::SpanInfo& info = m.infos[col.info[i]];
  ImGui::Text("start %s, lasted %s", format_time(col.begin[i]).c_str(), format_duration(col.end[i] - col.begin[i]).c_str());
  if (col.clipped[i]) ImGui::TextDisabled("its end was not recorded: cut at the thread's last event");
  switch (col.kind[i]) {
    case SpanKind::Running:
      ImGui::Text("resumed by the hub: %s", std::string(traceio::to_string(static_cast<traceio::Reason>(col.code[i]))).c_str());
      break;
    case SpanKind::Waiting:
      ImGui::Text("reason: %s", std::string(traceio::to_string(static_cast<traceio::Reason>(col.code[i]))).c_str());
      if (info.what != 0) ImGui::Text("on: %s", m.text(info.what).c_str());
      if (info.fd >= 0) ImGui::Text("fd %lld", static_cast<long long>(info.fd));
      ImGui::TextUnformatted("where it waits:");
      stack_lines(m, t.process, info.stack);
      break;
    case SpanKind::Watcher:
      ImGui::Text("%s watcher, fd %lld, revents %u", std::string(traceio::to_string(static_cast<traceio::WatcherKind>(col.code[i]))).c_str(),
                  static_cast<long long>(info.fd), info.events);
      break;
    case SpanKind::BlockingCall:
      ImGui::Text("%s blocked the thread despite patch_all() (fd %lld)", m.text(info.what).c_str(), static_cast<long long>(info.fd));
      stack_lines(m, t.process, info.stack);
      break;
    case SpanKind::Dropped:
      ImGui::Text("%s events lost: the tracer's buffers were full", format_count(info.key).c_str());
      break;
    case SpanKind::Job: ImGui::Text("job key %llu", static_cast<unsigned long long>(info.key)); break;
    default: break;
  }
}

void span_details(App& app, const Selection& s) {
  const analysis::Model& m = *app.model;
  const analysis::Track& t = m.tracks[s.track];
  const analysis::SpanColumns& col = t.levels[s.level];
  heading(app, std::string(kind_name(col.kind[s.index])) + ": " + span_label(m, t, col, s.index));
  span_body(app, t, col, s.index);
  if (t.type != analysis::Track::Type::Greenlet) return;
  if (const analysis::GreenletSummary* g = m.greenlet(t.process, t.greenlet)) {
    ImGui::Separator();
    ImGui::Text("greenlet %s", greenlet_label(m, g->process, g->id).c_str());
    greenlet_body(app, *g);
  }
}

// samples_by_stack() merges a stall's samples: distinct stacks, most seen first.
std::vector<std::pair<std::uint64_t, std::size_t>> samples_by_stack(const traceio::StallInfo& s) {
  std::map<std::uint64_t, std::size_t> counts;
  for (const traceio::StallSampleInfo& x : s.samples) ++counts[x.stack];
  std::vector<std::pair<std::uint64_t, std::size_t>> out(counts.begin(), counts.end());
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

// function_table() lists a stall's functions with inclusive and self
// sample counts, the program's own marked *, as perf report --children.
void function_table(const symbols::FunctionSummary& f) {
  constexpr std::size_t kRows = 12;
  const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_SizingFixedFit;
  if (!ImGui::BeginTable("functions", 3, flags)) return;
  ImGui::TableSetupColumn("inclusive");
  ImGui::TableSetupColumn("self");
  ImGui::TableSetupColumn("function (* the program's own code)");
  ImGui::TableHeadersRow();
  std::size_t listed = 0;
  for (const symbols::FunctionRow& r : f.rows) {
    if (r.self == 0 && symbols::is_system_source(r.file) && !symbols::is_system_module(r.module)) continue;
    if (listed++ == kRows) break;
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    ImGui::Text("%llu", static_cast<unsigned long long>(r.inclusive));
    ImGui::TableNextColumn();
    if (r.self > 0) ImGui::Text("%llu", static_cast<unsigned long long>(r.self));
    ImGui::TableNextColumn();
    ImGui::Text("%s %s", r.own ? "*" : " ", r.function.c_str());
  }
  ImGui::EndTable();
}

void stall_details(App& app, std::size_t i) {
  const analysis::Model& m = *app.model;
  const traceio::StallInfo& s = m.stalls[i];
  const std::uint32_t process = i < m.stall_process.size() ? m.stall_process[i] : 0;
  const analysis::StallSummary summary = m.stall_summary(i);
  heading(app, "Stall " + format_duration(s.duration_ns) + (s.ended() ? "" : " (still going when the trace ended)") +
                   ": " + stall_culprit(m, i) + " held the thread");
  ImGui::Text("from %s to %s", format_time(s.start_ns).c_str(), format_time(stall_end(s)).c_str());
  if (s.has_end && s.cpu_window_ns <= 0) {
    // The hub reported it when it ended, with no sample and no CPU reading
    // (the monitor did not catch it while it lasted): its kind is unknown.
    ImGui::TextWrapped("CPU time not measured: no sample caught it while it lasted; the hub reported it when it ended");
  } else if (s.has_end) {
    ImGui::TextWrapped("%s", verdict::text(summary.verdict).c_str());
    ImGui::Text("%s of CPU in %s measured", format_duration(s.cpu_ns).c_str(), format_duration(s.cpu_window_ns).c_str());
  }
  if (summary.functions.samples > 0) {
    ImGui::TextWrapped("in %s", summary.functions.line().c_str());
    function_table(summary.functions);
  }
  ImGui::Text("%zu stack samples:", s.samples.size());
  const auto stacks = samples_by_stack(s);
  // The flame graph of this stall, made once per selection (frame_lines()
  // formats every frame) and drawn each frame.
  static std::uint64_t flame_generation = UINT64_MAX;
  static std::size_t flame_stall = SIZE_MAX;
  static FlameNode flame;
  if (flame_generation != app.generation || flame_stall != i) {
    flame = build_flame(m, process, stacks);
    flame_generation = app.generation;
    flame_stall = i;
  }
  draw_flame_graph(flame);
  for (const auto& [stack, count] : stacks) {
    ImGui::Separator();
    ImGui::Text("%zu of %zu samples (%.0f%%)", count, s.samples.size(),
                100.0 * static_cast<double>(count) / static_cast<double>(s.samples.size()));
    stack_lines(m, process, stack);
  }
}

void crash_details(App& app, std::size_t i) {
  const analysis::Model& m = *app.model;
  const traceio::CrashInfo& c = m.crashes[i];
  const std::uint32_t process = i < m.crash_process.size() ? m.crash_process[i] : 0;
  heading(app, "Crash: " + signal_name(c.signal) + " at " + format_hex(c.fault_address) +
                   (c.stack_overflow ? " (STACK OVERFLOW: it ran into its stack's guard page)" : ""));
  ImGui::Text("at %s in %s", format_time(c.time_ns).c_str(),
              c.greenlet != 0 ? greenlet_label(m, process, c.greenlet).c_str() : "an unknown greenlet");
  stack_lines(m, process, c.stack);
}

void run_info_details(App& app, std::size_t i) {
  const traceio::RunInfoDump& r = app.model->run_infos[i];
  heading(app, "Run-info dump at " + format_time(r.time_ns) + " (" + r.trigger + ")");  // valid: Model
  ImGui::TextUnformatted(r.text.c_str());
}

}  // namespace

void draw_details_panel(App& app) {
  place_next_window(app, Panel::Details);
  ImGui::Begin("Details", nullptr, ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize |
                                       ImGuiWindowFlags_HorizontalScrollbar);
  const Selection s = app.selection;
  app.notes.details_heading.clear();
  switch (s.kind) {
    case Selection::Kind::None: ImGui::TextDisabled("Click an item on the timeline or in a list."); break;
    case Selection::Kind::Span: span_details(app, s); break;
    case Selection::Kind::Stall: stall_details(app, s.index); break;
    case Selection::Kind::Crash: crash_details(app, s.index); break;
    case Selection::Kind::Greenlet: greenlet_details(app, s.index); break;
    case Selection::Kind::RunInfo: run_info_details(app, s.index); break;
  }
  ImGui::End();
}

}  // namespace gs::viewer
