// state_dump.cpp: see state_dump.h.
#include "state_dump.h"

#include <cstdio>
#include <sstream>

namespace gs::viewer {

std::string state_text(const App& app) {
  std::ostringstream out;
  out << "frame=" << app.frame << "\n";
  out << "loaded=" << (app.loaded() ? 1 : 0) << "\n";
  out << "load_errors=" << app.load_errors.size() << "\n";
  if (app.model) {
    out << "processes=" << app.model->processes.size() << "\n";
    out << "stalls=" << app.model->stalls.size() << "\n";
  }
  out << "view_begin_ns=" << app.view.range().begin << "\n";
  out << "view_end_ns=" << app.view.range().end << "\n";
  out << "selection=" << to_string(app.selection.kind) << "\n";
  out << "selection_index=" << app.selection.index << "\n";
  out << "longest_stall=" << app.longest_stall << "\n";
  const Rect& r = app.notes.longest_stall;
  if (r.valid()) out << "longest_stall_rect=" << r.x0 << " " << r.y0 << " " << r.x1 << " " << r.y1 << "\n";
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
