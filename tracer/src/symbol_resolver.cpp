#include "symbol_resolver.h"

#include <pthread.h>

#include <chrono>
#include <memory>
#include <string_view>

#include "chunk_file.h"
#include "greenscope/detail/own_fd_table.h"
#include "greenscope/detail/quiet_thread.h"
#include "greenscope/symbols.h"
#include "greenscope/trace_format.h"

namespace gs::trace::detail {

namespace tf = trace_format;

namespace {

std::string_view capped(std::string_view s) { return s.substr(0, tf::kMaxInlineString); }

std::vector<std::uint8_t> encode_symbol(std::uintptr_t address, const symbols::Location& where) {
  if (where.scopes.empty()) return {};
  PayloadBuilder b;
  b.varint(address);
  b.varint(where.scopes.size());
  for (const symbols::Scope& s : where.scopes) {
    b.string(capped(s.function));
    b.string(capped(s.file));
    b.varint(s.line);
  }
  return b.bytes();
}

}  // namespace

SymbolResolver::~SymbolResolver() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  work_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SymbolResolver::add(const std::vector<std::uintptr_t>& addresses) {
  if (addresses.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.insert(queue_.end(), addresses.begin(), addresses.end());
  }
  if (!thread_.joinable())
    thread_ = gs::detail::quiet_thread([this, creator_left = gs::detail::left_program_fds()] { run(creator_left); });
  work_cv_.notify_one();
}

std::vector<SymbolResolver::Resolved> SymbolResolver::take(unsigned wait_ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (wait_ms > 0)
    idle_cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), [&] { return queue_.empty() && !busy_; });
  std::vector<Resolved> out;
  out.swap(done_);
  return out;
}

// run() resolves one address at a time, the lock released meanwhile. It
// keeps an fd table of its own, as the writer that starts it does, and so a
// Symbolizer of its own (rebuilt when modules were loaded since): libdw's
// open files belong to the table they were opened in.
void SymbolResolver::run(bool creator_left) {
  pthread_setname_np(pthread_self(), "gs-symbols");
  gs::detail::leave_program_fds({}, creator_left);
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    const std::uintptr_t address = queue_.front();
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    std::vector<std::uint8_t> entry = encode_symbol(address, gs::detail::symbolizer_for_this_thread()->lookup(address));
    lock.lock();
    busy_ = false;
    done_.emplace_back(address, std::move(entry));
    if (queue_.empty()) idle_cv_.notify_all();
  }
}

}  // namespace gs::trace::detail
