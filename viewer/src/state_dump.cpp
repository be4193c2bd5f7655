// state_dump.cpp: see state_dump.h.
#include "state_dump.h"

#include <cstdio>
#include <sstream>

#include "model_stats.h"

namespace gs::viewer {

std::string state_text(const App& app) {
  std::ostringstream out;
  out << "frame=" << app.frame << "\n";
  out << "loaded=" << (app.loaded() ? 1 : 0) << "\n";
  out << "load_errors=" << app.load_errors.size() << "\n";
  if (app.model) {
    out << "processes=" << app.model->processes.size() << "\n";
    const analysis::Model& m = *app.model;
    out << "stalls=" << m.stalls.size() << "\n";
    out << "greenlets=" << m.greenlets.size() << "\n";
    out << "spans=" << m.span_count() << "\n";
    out << "run_infos=" << m.run_infos.size() << "\n";
    out << "crashes=" << m.crashes.size() << "\n";
    out << "model_end_ns=" << m.end_ns() << "\n";
    const RunHistogram h = run_histogram(m);
    std::uint64_t in_bins = 0;
    for (std::uint64_t n : h.counts) in_bins += n;
    out << "histogram_total=" << h.total << "\n";
    out << "histogram_in_bins=" << in_bins << "\n";
    std::uint64_t runs = 0;  // the summaries' count, for the test to check the histogram against
    for (const analysis::GreenletSummary& g : m.greenlets)
      if (g.track != UINT32_MAX && m.tracks[g.track].type == analysis::Track::Type::Greenlet) runs += g.runs;
    out << "greenlet_runs=" << runs << "\n";
    out << "callback_kinds=" << callback_stats(m).size() << "\n";
  }
  out << "files=" << app.files.size() << "\n";
  out << "reloading=" << (app.reloading() ? 1 : 0) << "\n";
  out << "follow=" << (app.follow.enabled ? 1 : 0) << "\n";
  out << "follow_pinned=" << (app.follow.pinned ? 1 : 0) << "\n";
  out << "follow_reloads=" << app.follow.reloads << "\n";
  out << "follow_updates=" << app.follow.updates << "\n";
  out << "follow_offset=" << (app.live != nullptr ? app.live->offset() : 0) << "\n";
  out << "search=" << app.search.searched << "\n";
  out << "search_hits=" << app.search.hits.size() << "\n";
  if (!app.search.hits.empty()) out << "search_first=" << app.search.hits.front().text << "\n";
  out << "view_begin_ns=" << app.view.range().begin << "\n";
  out << "view_end_ns=" << app.view.range().end << "\n";
  out << "selection=" << to_string(app.selection.kind) << "\n";
  out << "selection_index=" << app.selection.index << "\n";
  out << "longest_stall=" << app.longest_stall << "\n";
  const Rect& r = app.notes.longest_stall;
  if (r.valid()) out << "longest_stall_rect=" << r.x0 << " " << r.y0 << " " << r.x1 << " " << r.y1 << "\n";
  const auto rect = [&out](const char* key, const Rect& x) {
    if (x.valid()) out << key << "=" << x.x0 << " " << x.y0 << " " << x.x1 << " " << x.y1 << "\n";
  };
  rect("run_info_rect", app.notes.run_info);
  rect("search_input_rect", app.notes.search_input);
  rect("search_first_hit_rect", app.notes.search_first_hit);
  out << "details=" << app.notes.details_heading << "\n";
  return out.str();
}

bool write_state(const App& app, const std::string& path) {
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) return false;
  const std::string text = state_text(app);
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (std::fclose(f) != 0 || !ok) return false;
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace gs::viewer
