// screenshot.h: the frame buffer to a PNG (--screenshot).
#pragma once

#include <string>

namespace gs::viewer {

// write_screenshot() reads the current GL back buffer (width x height) and
// writes it top row first to `path`; false with `error` on failure.
bool write_screenshot(const std::string& path, int width, int height, std::string* error);

}  // namespace gs::viewer
