#include "trace_builder.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <vector>

namespace gs::test {

namespace {

// WrittenFiles removes the files write_file() wrote when the test program
// ends, so that runs of the suite do not pile them up in /tmp.
class WrittenFiles {
 public:
  void add(const std::string& path) {
    std::lock_guard<std::mutex> lock(mutex_);
    paths_.push_back(path);
  }
  ~WrittenFiles() {
    for (const std::string& path : paths_) std::remove(path.c_str());
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> paths_;
};

WrittenFiles& written_files() {
  static WrittenFiles files;
  return files;
}

}  // namespace

std::string write_file(const Bytes& bytes, const std::string& name) {
  static std::atomic<int> counter{0};
  const std::string path = ::testing::TempDir() + "traceio_" + std::to_string(::getpid()) + "_" +
                           std::to_string(counter++) + "_" + name + ".gstrace";
  written_files().add(path);
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
