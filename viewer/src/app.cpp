// app.cpp: App::frame_ui(), the frame: swap in a model when a load is done,
// then draw the panels that are shown. Loads (the first, File > Open, a
// drop, a --follow re-read) all read every shown file into a new Model in
// the background and swap it in whole.
#include "app.h"

#include <imgui.h>

#include <algorithm>
#include <cstdio>

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

void set_limits(App& app) {
  const analysis::Model& m = *app.model;
  std::int64_t b = m.begin_ns(), e = m.end_ns();
  if (e <= b) e = b + 1'000'000;
  app.view.set_limits(b, e);
}

// on_loaded() sets up the first view: the whole trace, or what the command
// line asked for.
void on_loaded(App& app) {
  const analysis::Model& m = *app.model;
  set_limits(app);
  std::int64_t b = m.begin_ns(), e = std::max(m.end_ns(), m.begin_ns() + 1'000'000);
  const std::int64_t margin = (e - b) / 50;
  app.view.reset({b - margin, e + margin});
  app.selection = {};
  if (app.options.select_longest_stall && app.longest_stall >= 0)
    select_stall(app, static_cast<std::size_t>(app.longest_stall), true);
  if (app.options.range) app.view.jump({app.options.range->first, app.options.range->second});
}

}  // namespace

void App::start() {
  files = options.files;
  follow.enabled = options.follow;
  if (!options.record.empty()) {
    std::string trace, error;
    if (recorder.start(options.record, &trace, &error)) files = {trace};
    else load_errors.push_back({options.record.front(), error});
  }
  std::snprintf(search.query, sizeof search.query, "%s", options.search.c_str());
  begin_load(false);
}

void App::begin_load(bool keep_view) {
  loader = std::make_unique<Loader>();
  loader_keeps_view = keep_view;
  loader->start(files, follow.enabled);
}

void App::open_files(const std::vector<std::string>& paths) {
  bool added = false;
  for (const std::string& p : paths)
    if (std::find(files.begin(), files.end(), p) == files.end()) files.push_back(p), added = true;
  if (added) begin_load(false);
}

void App::close_all() {
  loader.reset();  // cancels a load under way
  live.reset();
  files.clear();
  follow.enabled = false;
  model = std::make_unique<analysis::Model>();
  ++generation;
  load_errors.clear();
  selection = {};
  longest_stall = -1;
}

void App::cancel_load() {
  loader.reset();
  if (model == nullptr) return close_all();
  if (follow.enabled) return;  // the followed file stays; its next growth is read again
  files.clear();  // back to the files the shown model holds
  for (const analysis::ProcessSummary& p : model->processes)
    if (std::find(files.begin(), files.end(), p.path) == files.end()) files.push_back(p.path);
}

// take_model() swaps the loaded model in. A --follow re-read keeps the view
// (follow_on_reloaded() moves it if pinned) and the selection if it still
// points at something; any other load starts afresh.
void App::take_model() {
  const bool first = model == nullptr;
  std::vector<LoadError> errors;
  model = loader->take(&errors);
  live = loader->take_follow();
  loader.reset();
  ++generation;
  load_errors = std::move(errors);  // a followed file not written yet: shown until it is
  longest_stall = find_longest_stall(*model);
  if (loader_keeps_view && !first) {
    set_limits(*this);
    if (!selection_valid(*model, selection)) selection = {};
    follow_on_reloaded(*this);
    return;
  }
  on_loaded(*this);
  if (follow.enabled) follow_on_reloaded(*this);
  if (first && !options.drop.empty()) dropped = options.drop;  // --drop: the drop handler's path
}

void App::model_grew() {
  ++generation;
  set_limits(*this);
  longest_stall = find_longest_stall(*model);
  if (!selection_valid(*model, selection)) selection = {};
}

void App::show(std::unique_ptr<analysis::Model> m) {
  model = std::move(m);
  ++generation;
  longest_stall = find_longest_stall(*model);
  on_loaded(*this);
}

void App::frame_ui() {
  ++frame;
  if (loader && loader->done()) take_model();
  if (!dropped.empty()) {
    open_files(dropped);
    dropped.clear();
  }
  if (follow.enabled) follow_tick(*this);
  notes.longest_stall = notes.run_info = notes.search_input = notes.search_first_hit = {};
  if (!loaded()) {
    draw_loading_panel(*this);
    return;
  }
  draw_main_menu(*this);
  const auto shown = [this](Panel p) { return options.panels[static_cast<std::size_t>(p)]; };
  if (shown(Panel::Timeline)) draw_timeline_panel(*this);
  if (shown(Panel::Details)) draw_details_panel(*this);
  if (shown(Panel::Stalls)) draw_stalls_panel(*this);
  if (shown(Panel::Greenlets)) draw_greenlets_panel(*this);
  if (shown(Panel::Search)) draw_search_panel(*this);
  if (shown(Panel::Callbacks)) draw_callbacks_panel(*this);
  if (shown(Panel::Histogram)) draw_histogram_panel(*this);
  if (shown(Panel::Info)) draw_info_panel(*this);
}

}  // namespace gs::viewer
