#include "chunk_source.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace gs::traceio::detail {

const std::uint8_t* FileSource::bytes(std::size_t offset, std::size_t n) {
  if (offset >= start_ && offset + n <= start_ + buffer_.size()) return buffer_.data() + (offset - start_);
  const std::size_t want = std::max(n, std::min(kWindow, size_ - offset));
  buffer_.resize(want);
  start_ = offset;
  read_exactly(fd_, offset, want, buffer_.data());
  read_to_ = std::max(read_to_, offset + want);
  return buffer_.data();
}

void FileSource::read_exactly(int fd, std::uint64_t offset, std::size_t n, std::uint8_t* out) {
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(fd, out + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<std::size_t>(r);
  }
  if (got < n) std::memset(out + got, 0, n - got);
}

}  // namespace gs::traceio::detail
