// for_this_process.cpp: the process's shared Symbolizer, and a thread's own.
// Building one costs milliseconds (every module's file is opened), so it is
// kept until the loader's counters say an object came or went.
#include <mutex>

#include "greenscope/symbols.h"
#include "process_modules.h"

namespace gs::symbols {
namespace {

struct Shared {
  std::mutex mutex;
  std::shared_ptr<Symbolizer> current;  // guarded by mutex
  detail::LoadCounts built_at;          // guarded by mutex
};

// keep_fresh() keeps `current` up to date with the loaded objects. Counts first:
// an object loaded while the list is read only causes one needless rebuild
// later, never a missed one.
void keep_fresh(std::shared_ptr<Symbolizer>& current, detail::LoadCounts& built_at) {
  const detail::LoadCounts now = detail::load_counts();
  if (current != nullptr && now == built_at) return;
  current = std::make_shared<Symbolizer>(loaded_modules());
  built_at = now;
}

}  // namespace

std::shared_ptr<Symbolizer> for_this_process() {
  // Never destroyed: the tracer's writer may still symbolize while the
  // process's static objects are being destroyed at exit.
  static Shared& shared = *new Shared;
  std::lock_guard lock(shared.mutex);
  keep_fresh(shared.current, shared.built_at);
  return shared.current;
}

std::shared_ptr<Symbolizer> for_this_thread() {
  // Destroyed at the thread's end, on the thread: in its own fd table.
  thread_local std::shared_ptr<Symbolizer> current;
  thread_local detail::LoadCounts built_at;
  keep_fresh(current, built_at);
  return current;
}

}  // namespace gs::symbols
