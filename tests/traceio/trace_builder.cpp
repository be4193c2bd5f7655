#include "trace_builder.h"

#include "removed_at_exit.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>

namespace gs::test {

std::string write_file(const Bytes& bytes, const std::string& name) {
  static std::atomic<int> counter{0};
  const std::string path = ::testing::TempDir() + "traceio_" + std::to_string(::getpid()) + "_" +
                           std::to_string(counter++) + "_" + name + ".gstrace";
  remove_at_exit(path);
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    ADD_FAILURE() << "cannot create " << path;
    return path;
  }
  if (!bytes.empty()) std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  return path;
}

traceio::LoadResult load_bytes(const Bytes& bytes) {
  const std::string path = write_file(bytes);
  traceio::LoadResult result = traceio::load(path);
  std::remove(path.c_str());
  return result;
}

}  // namespace gs::test
