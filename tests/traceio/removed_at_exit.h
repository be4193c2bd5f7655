// removed_at_exit.h: files and folders a test program made, removed when it
// ends, so that runs of the suite do not pile them up in /tmp (one run left
// some 2,000 folders). A forked child leaves by exec or _exit and removes
// nothing. Used by tests/traceio's trace_builder and tests/cli's runner.
#pragma once

#include <filesystem>
#include <mutex>
#include <string>
#include <system_error>
#include <vector>

namespace gs::test {

// remove_at_exit() adds `path` (a file or a folder) to the removal list.
inline void remove_at_exit(const std::string& path) {
  class RemovedAtExit {
   public:
    void add(const std::string& p) {
      std::lock_guard<std::mutex> lock(mutex_);
      paths_.push_back(p);
    }
    ~RemovedAtExit() {
      std::error_code ignored;
      for (const std::string& p : paths_) std::filesystem::remove_all(p, ignored);
    }

   private:
    std::mutex mutex_;
    std::vector<std::string> paths_;
  };
  static RemovedAtExit removed;
  removed.add(path);
}

}  // namespace gs::test
