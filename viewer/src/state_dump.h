// state_dump.h: the viewer's state as key=value lines (--dump-state-on-exit
// FILE, and on SIGUSR1), so that a test driving the window from outside
// (xdotool) can see what it did: the view, the selection, what the details
// panel shows, and where the longest stall is drawn.
#pragma once

#include <string>

#include "app.h"

namespace gs::viewer {

std::string state_text(const App& app);
// write_state() writes state_text() to `path` whole (a temp file renamed
// over it), so a reader never sees half of it.
bool write_state(const App& app, const std::string& path);

}  // namespace gs::viewer
