// symbol_resolver.h: resolving recorded addresses to names (libdw, through
// greenscope::symbols) on a thread of its own. libdw's first lookup in a
// module loads its debug info, tens of milliseconds, and a libc address can
// take 100 us: on the writer thread that would hold up shipping and block
// recycling until busy threads ran out of blocks and dropped events.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace gs::trace::detail {

class SymbolResolver {
 public:
  // Resolved is an address and its encoded SymbolEntry (empty: libdw knew
  // nothing; no entry is written and a reader resolves it offline).
  using Resolved = std::pair<std::uintptr_t, std::vector<std::uint8_t>>;

  SymbolResolver() = default;
  ~SymbolResolver();  // stops the thread after the lookup it is in
  SymbolResolver(const SymbolResolver&) = delete;
  SymbolResolver& operator=(const SymbolResolver&) = delete;

  // add() queues addresses; the thread starts on first use.
  void add(const std::vector<std::uintptr_t>& addresses);
  // take() hands over what was resolved since the last call, after waiting
  // up to `wait_ms` for the queue to empty (0: no wait).
  std::vector<Resolved> take(unsigned wait_ms);

 private:
  void run(bool creator_left);

  std::mutex mutex_;
  std::condition_variable work_cv_, idle_cv_;
  std::deque<std::uintptr_t> queue_;  // guarded by mutex_
  std::vector<Resolved> done_;        // guarded by mutex_
  bool busy_ = false;                 // guarded by mutex_: a lookup is under way
  bool stop_ = false;                 // guarded by mutex_
  std::thread thread_;                // the writer starts and joins it
};

}  // namespace gs::trace::detail
