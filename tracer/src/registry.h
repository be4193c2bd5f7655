// registry.h: the process-wide list of thread streams (registry.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "thread_stream.h"

namespace gs::trace::detail {

// g_registry_mutex guards the stream list and the block source; "_locked"
// functions must be called with it held.
extern std::mutex g_registry_mutex;

// BlockSource is the session's block pool, as the registry sees it: a new
// stream gets its free blocks from it.
class BlockSource {
 public:
  virtual void top_up(ThreadStream& stream) = 0;  // called with the lock held

 protected:
  ~BlockSource() = default;
};

// tls_stream is the calling thread's stream: nullptr before its first
// hook, kRetiredStream once the thread is exiting.
extern thread_local ThreadStream* tls_stream [[gnu::tls_model("initial-exec")]];
inline ThreadStream* const kRetiredStream = reinterpret_cast<ThreadStream*>(1);

// attach_stream() creates and registers the calling thread's stream.
[[gnu::cold]] [[gnu::noinline]] ThreadStream* attach_stream();

// current_stream() is the calling thread's stream, created on first use;
// nullptr once the thread is exiting. Inline: every hook calls it.
inline ThreadStream* current_stream() {
  ThreadStream* s = tls_stream;
  if (reinterpret_cast<std::uintptr_t>(s) > 1) [[likely]] return s;
  return s == nullptr ? attach_stream() : nullptr;
}

// thread_index_of() finds the stream of kernel thread `tid` and marks it
// referenced (so that its Thread chunk is written even if it recorded
// nothing). False if that thread never recorded.
bool thread_index_of(std::int64_t tid, std::uint32_t* index);

std::vector<ThreadStream*> registered_streams_locked();
void set_block_source_locked(BlockSource* source);
// remove_streams_locked() unregisters and deletes `gone` (streams whose
// thread has exited), calling `before_delete` on each first.
void remove_streams_locked(const std::vector<ThreadStream*>& gone,
                           const std::function<void(ThreadStream&)>& before_delete);
// forget_streams_after_fork() runs in a forked child.
void forget_streams_after_fork();

}  // namespace gs::trace::detail
