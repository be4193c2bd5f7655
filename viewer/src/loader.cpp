// loader.cpp: Loader, Model::load() on a thread of its own.
#include "loader.h"

#include <sys/stat.h>

#include <cstdio>
#include <exception>

namespace gs::viewer {

namespace {

// kFollowPiece: a followed file is read in pieces this big, so that a
// cancel is seen between them.
constexpr std::uint64_t kFollowPiece = 8u << 20;

}  // namespace

Loader::~Loader() {
  cancel_.store(true, std::memory_order_relaxed);
  if (thread_.joinable()) thread_.join();
}

void Loader::start(std::vector<std::string> files, bool follow_first) {
  files_ = std::move(files);
  follow_first_ = follow_first && !files_.empty();
  model_ = std::make_unique<analysis::Model>();
  thread_ = std::thread([this] { run(); });
}

std::string Loader::current_file() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return current_;
}

// follow_first() reads the first file through a Follow, piece by piece,
// until it has all the file has now (or the file is not there yet).
void Loader::follow_first() {
  const std::string& path = files_.front();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    current_ = path;
  }
  follow_ = std::make_unique<analysis::Follow>(*model_, path);
  const double n = static_cast<double>(files_.size());
  for (;;) {
    const std::uint64_t before = follow_->offset();
    std::string error;
    try {
      error = follow_->update(kFollowPiece);
    } catch (const std::exception& e) {
      error = std::string("could not follow it: ") + e.what();
    }
    if (!error.empty()) {
      std::fprintf(stderr, "greenscope-viewer: %s\n", error.c_str());
      errors_.push_back({path, error});
      follow_.reset();
      return;
    }
    struct stat st {};
    const double size = ::stat(path.c_str(), &st) == 0 && st.st_size > 0 ? static_cast<double>(st.st_size) : 1.0;
    progress_.store(std::min(1.0, static_cast<double>(follow_->offset()) / size) / n, std::memory_order_relaxed);
    if (follow_->at_end() || follow_->offset() == before || cancel_.load(std::memory_order_relaxed)) return;
  }
}

// run() loads each file in turn. A file that cannot be read leaves the
// model as it was (Model::load's contract), so the others still show.
void Loader::run() {
  const double n = files_.empty() ? 1.0 : static_cast<double>(files_.size());
  if (follow_first_) follow_first();
  for (std::size_t i = follow_first_ ? 1 : 0; i < files_.size() && !cancel_.load(std::memory_order_relaxed); ++i) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      current_ = files_[i];
    }
    std::string error;
    const auto progress = [&](double f) {
      progress_.store((static_cast<double>(i) + f) / n, std::memory_order_relaxed);
      return !cancel_.load(std::memory_order_relaxed);
    };
    bool ok = false;
    try {
      ok = model_->load(files_[i], &error, progress);
    } catch (const std::exception& e) {  // e.g. bad_alloc on a huge file: a message, not a crash
      error = std::string("could not load it: ") + e.what();
    }
    if (!ok) {
      if (error.empty()) error = "could not be read";
      std::fprintf(stderr, "greenscope-viewer: %s: %s\n", files_[i].c_str(), error.c_str());
      errors_.push_back({files_[i], error});
    }
  }
  progress_.store(1.0, std::memory_order_relaxed);
  done_.store(true, std::memory_order_release);
}

std::unique_ptr<analysis::Model> Loader::take(std::vector<LoadError>* errors) {
  if (!done()) return nullptr;
  if (thread_.joinable()) thread_.join();
  *errors = std::move(errors_);
  return std::move(model_);
}

}  // namespace gs::viewer
