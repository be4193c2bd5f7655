// loader.h: Loader reads trace files into a Model on a background thread,
// so that the window keeps drawing (a progress bar) while a big trace loads.
// With --follow the first file is read through an analysis::Follow, which
// the window then keeps extending as the file grows (follow.cpp).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "greenscope/analysis/model.h"

namespace gs::viewer {

// LoadError is a file that could not be read at all.
struct LoadError {
  std::string path;
  std::string message;
};

class Loader {
 public:
  Loader() = default;
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;
  // ~Loader() cancels a load under way and joins its thread.
  ~Loader();

  // start() loads `files` in order into one new Model; `follow_first`:
  // the first is read with an analysis::Follow (take_follow()). Call once.
  void start(std::vector<std::string> files, bool follow_first = false);
  bool done() const { return done_.load(std::memory_order_acquire); }
  // progress() is the whole load's fraction, 0..1; file() the one being read.
  double progress() const { return progress_.load(std::memory_order_relaxed); }
  std::string current_file() const;
  // take() hands over the model and the errors once done(); null before.
  std::unique_ptr<analysis::Model> take(std::vector<LoadError>* errors);
  // take_follow() hands over the Follow of the first file (after take()),
  // null when there is none or it failed.
  std::unique_ptr<analysis::Follow> take_follow() { return std::move(follow_); }

 private:
  void run();
  void follow_first();

  std::vector<std::string> files_;
  bool follow_first_ = false;
  std::thread thread_;
  std::atomic<bool> done_{false}, cancel_{false};
  std::atomic<double> progress_{0};
  mutable std::mutex mutex_;  // guards current_, set by the loading thread
  std::string current_;
  // Written by the loading thread only, read after done() (acquire).
  std::unique_ptr<analysis::Model> model_;
  std::unique_ptr<analysis::Follow> follow_;
  std::vector<LoadError> errors_;
};

}  // namespace gs::viewer
