// follow.cpp: live mode (--follow FILE, -- PROGRAM). About every 0.5 s the
// followed file is looked at; when it grew, every shown file is read again
// into a new Model in the background and swapped in (App::take_model()).
// The Model has no incremental API yet (another engineer is adding one):
// until then a re-read is a full load, which is fine for traces of a few
// hundred MB and is what to replace with an append once the API exists.
#include <sys/stat.h>

#include <chrono>

#include "app.h"

namespace gs::viewer {
namespace {

constexpr double kCheckEverySeconds = 0.5;

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// file_changed() notes the file's size and mtime; true if either moved
// since the last look (a missing file is size -1).
bool file_changed(FollowState& f, const std::string& path) {
  struct stat st {};
  std::int64_t size = -1, mtime = -1;
  if (::stat(path.c_str(), &st) == 0) {
    size = static_cast<std::int64_t>(st.st_size);
    mtime = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  }
  const bool changed = size != f.seen_size || mtime != f.seen_mtime_ns;
  f.seen_size = size;
  f.seen_mtime_ns = mtime;
  return changed;
}

// pin_to_end() shows the newest events: the current width, ending a little
// after the model's end.
void pin_to_end(App& app) {
  const std::int64_t len = app.view.range().length();
  const std::int64_t end = app.model->end_ns() + len / 20;
  app.view.set({end - len, end});
  app.follow.pinned_range = app.view.range();
}

}  // namespace

void follow_tick(App& app) {
  FollowState& f = app.follow;
  app.recorder.poll();
  // follow_tick() runs before the panels: a range other than the one the
  // pin set means the user panned or zoomed in the last frame.
  if (f.pinned && app.loaded() && app.view.range() != f.pinned_range && f.reloads > 0) f.pinned = false;
  const double now = now_seconds();
  if (now < f.next_check || app.reloading() || app.files.empty()) return;
  f.next_check = now + kCheckEverySeconds;
  if (file_changed(f, app.files.front()) && app.loaded()) {
    ++f.reloads;
    app.begin_load(true);
  }
}

void follow_on_reloaded(App& app) {
  if (app.follow.reloads == 0) ++app.follow.reloads;  // the first load counts: the pin holds from here
  if (app.follow.pinned) pin_to_end(app);
}

}  // namespace gs::viewer
