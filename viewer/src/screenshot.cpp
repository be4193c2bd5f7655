// screenshot.cpp: write_screenshot() with glReadPixels and stb_image_write.
#include "screenshot.h"

#include <GL/gl.h>

#include <cerrno>
#include <cstring>
#include <vector>

// libstb (Debian's libstb-dev) holds the implementation.
#include <stb_image_write.h>

namespace gs::viewer {

bool write_screenshot(const std::string& path, int width, int height, std::string* error) {
  if (width <= 0 || height <= 0) return *error = "the window has no size", false;
  const auto w = static_cast<std::size_t>(width), h = static_cast<std::size_t>(height);
  std::vector<unsigned char> pixels(w * h * 4), flipped(w * h * 4);
  glPixelStorei(GL_PACK_ALIGNMENT, 1);
  glReadBuffer(GL_BACK);
  glReadPixels(0, 0, width, height, GL_RGBA, GL_UNSIGNED_BYTE, pixels.data());
  if (const GLenum e = glGetError(); e != GL_NO_ERROR) return *error = "glReadPixels failed (GL error " + std::to_string(e) + ")", false;
  // GL's rows start at the bottom; PNG's at the top.
  for (std::size_t y = 0; y < h; ++y) std::memcpy(&flipped[y * w * 4], &pixels[(h - 1 - y) * w * 4], w * 4);
  errno = 0;
  if (stbi_write_png(path.c_str(), width, height, 4, flipped.data(), width * 4) == 0) {
    *error = "cannot write " + path + (errno != 0 ? std::string(": ") + std::strerror(errno) : std::string());
    return false;
  }
  return true;
}

}  // namespace gs::viewer
