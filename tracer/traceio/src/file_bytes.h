// file_bytes.h: the whole trace file in memory. It is read, not mapped: a
// trace that another process truncates while we read it must give a short
// read, not a SIGBUS.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "progress.h"

namespace gs::traceio::detail {

struct FileBytes {
  std::unique_ptr<std::uint8_t[]> data;
  std::size_t size = 0;
};

// read_file() reads `path` into `out` in pieces of a few MiB, reporting
// progress after each. It returns "" or the reason it failed (strerror
// text, without the path).
std::string read_file(const std::string& path, Progress& progress, FileBytes& out);

}  // namespace gs::traceio::detail
