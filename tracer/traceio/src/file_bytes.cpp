#include "file_bytes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace gs::traceio::detail {
namespace {

constexpr std::size_t kPiece = 4u << 20;

// Fd closes its descriptor on every return path.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// grow() doubles the buffer for a stream (a pipe) whose size fstat() cannot tell.
void grow(FileBytes& out, std::size_t& capacity) {
  const std::size_t bigger = capacity == 0 ? kPiece : capacity * 2;
  auto data = std::make_unique_for_overwrite<std::uint8_t[]>(bigger);
  if (out.size > 0) std::memcpy(data.get(), out.data.get(), out.size);
  out.data = std::move(data);
  capacity = bigger;
}

// read_all() reads until EOF or, for a regular file, until the size it had
// when opened (a trace still being written grows under us).
std::string read_all(int fd, bool regular, std::size_t capacity, Progress& progress,
                     FileBytes& out) {
  const std::size_t total = capacity;
  for (;;) {
    if (out.size == capacity) {
      if (regular) break;
      grow(out, capacity);
    }
    const std::size_t want = std::min(kPiece, capacity - out.size);
    const ssize_t n = ::read(fd, out.data.get() + out.size, want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::strerror(errno);
    if (n == 0) break;
    out.size += static_cast<std::size_t>(n);
    progress.reading(out.size, regular ? total : out.size);
  }
  return "";
}

}  // namespace

std::string read_file(const std::string& path, Progress& progress, FileBytes& out) {
  Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) return std::strerror(errno);
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) return std::strerror(errno);
  if (S_ISDIR(st.st_mode)) return std::strerror(EISDIR);
  const bool regular = S_ISREG(st.st_mode);
  const auto capacity = regular ? static_cast<std::size_t>(st.st_size) : 0;
  if (capacity > 0) out.data = std::make_unique_for_overwrite<std::uint8_t[]>(capacity);
  return read_all(file.fd, regular, capacity, progress, out);
}

}  // namespace gs::traceio::detail
