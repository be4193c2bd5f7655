// window.h: the GLFW window, the imgui context and the frame loop.
#pragma once

#include "app.h"

namespace gs::viewer {

// run_window() opens the window and runs frames until it is closed (or,
// with --screenshot, until the PNG is written). Returns the exit status.
int run_window(App& app);

}  // namespace gs::viewer
