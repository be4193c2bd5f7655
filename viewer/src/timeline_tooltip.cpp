// timeline_tooltip.cpp: the tooltip over a hovered span or folded block.
#include <imgui.h>

#include "format.h"
#include "span_text.h"
#include "timeline.h"

namespace gs::viewer {
namespace {

void span_tooltip(const analysis::Model& m, const analysis::Track& t, const analysis::SpanColumns& col, std::size_t i) {
  const analysis::SpanKind kind = col.kind[i];
  ImGui::Text("%s: %s", kind_name(kind), span_label(m, t, col, i).c_str());
  ImGui::Text("at %s, lasted %s%s", format_time(col.begin[i]).c_str(), format_duration(col.end[i] - col.begin[i]).c_str(),
              col.clipped[i] ? " (end not recorded: cut at the thread's last event)" : "");
  if (t.type == analysis::Track::Type::Greenlet) ImGui::TextDisabled("greenlet %s", track_label(m, t).c_str());
  if (kind == analysis::SpanKind::Stall) {
    const auto key = m.infos[col.info[i]].key;
    if (key < m.stalls.size()) {
      const traceio::StallInfo& s = m.stalls[key];
      ImGui::Text("%s, %zu stack samples", std::string(traceio::to_string(s.kind)).c_str(), s.samples.size());
    }
  }
  ImGui::TextDisabled("click: details; double click: zoom to it");
}

}  // namespace

void draw_hover_tooltip(const App& app, const TimelineFrame& f) {
  if (!f.hover.valid) return;
  const analysis::Model& m = *app.model;
  const analysis::Track& t = m.tracks[f.hover.track];
  const analysis::SpanColumns& col = t.levels[f.hover.level];
  ImGui::BeginTooltip();
  if (f.hover.block.count == 1) {
    span_tooltip(m, t, col, f.hover.block.first);
  } else {
    ImGui::Text("%s spans folded (each under %.0f px)", format_count(f.hover.block.count).c_str(), kMinBlockPx);
    ImGui::Text("from %s for %s", format_time(f.hover.block.begin).c_str(),
                format_duration(f.hover.block.end - f.hover.block.begin).c_str());
    ImGui::TextDisabled("zoom in (wheel, double click) to see them one by one");
  }
  ImGui::EndTooltip();
}

}  // namespace gs::viewer
