// app.cpp: App::frame_ui(), the frame: take the model when loading is done,
// then draw the panels that are shown.
#include "app.h"

#include <imgui.h>

#include <algorithm>

namespace gs::viewer {
namespace {

// find_longest_stall() is the index of the longest stall, -1 if none.
std::int64_t find_longest_stall(const analysis::Model& m) {
  std::int64_t best = -1;
  for (std::size_t i = 0; i < m.stalls.size(); ++i)
    if (best < 0 || m.stalls[i].duration_ns > m.stalls[static_cast<std::size_t>(best)].duration_ns)
      best = static_cast<std::int64_t>(i);
  return best;
}

// on_loaded() sets up the first view: the whole trace, or what the command
// line asked for.
void on_loaded(App& app) {
  const analysis::Model& m = *app.model;
  std::int64_t b = m.begin_ns(), e = m.end_ns();
  if (e <= b) e = b + 1'000'000;
  app.view.set_limits(b, e);
  const std::int64_t margin = (e - b) / 50;
  app.view.reset({b - margin, e + margin});
  app.longest_stall = find_longest_stall(m);
  if (app.options.select_longest_stall && app.longest_stall >= 0)
    select_stall(app, static_cast<std::size_t>(app.longest_stall), true);
  if (app.options.range) app.view.jump({app.options.range->first, app.options.range->second});
}

}  // namespace

void App::start() {
  loader.start(options.files);
}

void App::frame_ui() {
  ++frame;
  if (!model && loader.done()) {
    model = loader.take(&load_errors);
    on_loaded(*this);
  }
  notes.longest_stall = {};
  if (!loaded()) {
    draw_loading_panel(*this);
    return;
  }
  if (options.panels[static_cast<std::size_t>(Panel::Timeline)]) draw_timeline_panel(*this);
  if (options.panels[static_cast<std::size_t>(Panel::Details)]) draw_details_panel(*this);
  if (options.panels[static_cast<std::size_t>(Panel::Stalls)]) draw_stalls_panel(*this);
  if (options.panels[static_cast<std::size_t>(Panel::Greenlets)]) draw_greenlets_panel(*this);
  if (options.panels[static_cast<std::size_t>(Panel::Info)]) draw_info_panel(*this);
}

}  // namespace gs::viewer
