// progress.h: LoadOptions::progress over the two passes of a load. Reading
// the file fills the first half of the bar and decoding its events the
// second: on a cold disk the first dominates, on a warm one the second.
#pragma once

#include <cstdint>

#include "greenscope/traceio.h"

namespace gs::traceio::detail {

class Progress {
 public:
  explicit Progress(const LoadOptions& options) : options_(options) {}

  // reading() reports `done` of `total` file bytes read.
  void reading(std::uint64_t done, std::uint64_t total) {
    file_size_ = total;
    report(done / 2);
  }

  // decoding() reports `done` of `total` event bytes decoded, every few MiB.
  void decoding(std::uint64_t done, std::uint64_t total) {
    if (done < next_ || total == 0) return;
    next_ = done + kEvery;
    const double fraction = static_cast<double>(done) / static_cast<double>(total);
    report(file_size_ / 2 +
           static_cast<std::uint64_t>(fraction * static_cast<double>(file_size_ / 2)));
  }

  void finish() { report(file_size_); }

 private:
  static constexpr std::uint64_t kEvery = 4u << 20;

  void report(std::uint64_t done) const {
    if (options_.progress) options_.progress(done, file_size_);
  }

  const LoadOptions& options_;
  std::uint64_t file_size_ = 0;
  std::uint64_t next_ = 0;
};

}  // namespace gs::traceio::detail
