// for_this_process.cpp: the process's shared Symbolizer. Building one costs
// milliseconds (every module's file is opened), so it is kept until the
// loader's counters say an object came or went.
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

}  // namespace

std::shared_ptr<Symbolizer> for_this_process() {
  // Never destroyed: the tracer's writer may still symbolize while the
  // process's static objects are being destroyed at exit.
  static Shared& shared = *new Shared;
  // Counts first: an object loaded while the list is read only causes one
  // needless rebuild later, never a missed one.
  const detail::LoadCounts now = detail::load_counts();
  std::lock_guard lock(shared.mutex);
  if (shared.current == nullptr || now != shared.built_at) {
    shared.current = std::make_shared<Symbolizer>(loaded_modules());
    shared.built_at = now;
  }
  return shared.current;
}

}  // namespace gs::symbols
