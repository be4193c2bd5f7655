// thread_stream.h: one thread's event buffer. The owning thread (the
// producer) encodes events straight into a block, with no lock and no
// syscall; the writer thread ships what the producer has committed. Blocks
// move between them through two single-producer single-consumer rings.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "clock.h"
#include "greenscope/trace_format.h"
#include "stack_table.h"

namespace gs::trace::detail {

class ThreadStream;

// Block is a fixed-size piece of one thread's stream. It starts with a
// BlockStart event, so it decodes on its own.
struct Block {
  static constexpr std::size_t kSize = 64 * 1024;
  // committed: bytes [0, committed) are final. The producer release-stores
  // it after each event; the writer acquire-loads it.
  std::atomic<std::uint32_t> committed{0};
  std::uint32_t flushed = 0;  // writer only: bytes already shipped
  std::uint32_t seq = 0;      // ro once the producer publishes the block
  std::uint32_t thread = 0;   // ro once published
  std::uint8_t data[kSize];
};

// SpscRing is a bounded single-producer single-consumer queue of blocks.
template <std::size_t N>
class SpscRing {
  static_assert((N & (N - 1)) == 0, "N must be a power of two");

 public:
  bool push(Block* b) {
    const std::size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_.load(std::memory_order_acquire) == N) return false;
    slots_[tail & (N - 1)] = b;
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }
  Block* pop() {
    const std::size_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_.load(std::memory_order_acquire)) return nullptr;
    Block* b = slots_[head & (N - 1)];
    head_.store(head + 1, std::memory_order_release);
    return b;
  }
  std::size_t size() const {
    return tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_acquire);
  }

 private:
  alignas(64) std::atomic<std::size_t> head_{0};
  alignas(64) std::atomic<std::size_t> tail_{0};
  Block* slots_[N] = {};
};

// kMaxFreeBlocksPerThread bounds how many empty blocks the writer keeps
// ready for one thread (the session sizes it from its memory and thread
// count); the full ring holds them all plus the one being filled.
inline constexpr std::size_t kMinFreeBlocksPerThread = 4;
inline constexpr std::size_t kMaxFreeBlocksPerThread = 48;
using FreeRing = SpscRing<64>;
using FullRing = SpscRing<64>;

// StringCache maps a static string's address to its Strings id, per thread,
// so that interning costs a lookup, not a lock, after the first use.
struct StringCache {
  static constexpr std::size_t kSlots = 64;
  const char* key[kSlots] = {};
  std::uint32_t id[kSlots] = {};
};

class ThreadStream {
 public:
  ThreadStream(std::uint32_t index, std::int64_t os_tid);

  // begin_event() starts an event of at most `max_bytes` (tag and delta
  // included): writes the tag and tick delta and returns where the fields
  // go, or nullptr when there is no room (the event is then counted as
  // dropped). end_event() commits it.
  // Precondition: max_bytes <= kMaxEventBytes (a fresh block always fits it).
  static constexpr std::size_t kMaxEventBytes = trace_format::kMaxInlineString + 64;
  static_assert(kMaxEventBytes < Block::kSize / 2);
  std::uint8_t* begin_event(std::uint8_t tag, std::size_t max_bytes) { return begin_event(tag, max_bytes, now()); }
  // begin_event() at a time `t` the caller read (two events of one moment
  // share one clock read). Precondition: t >= the stream's last event's.
  std::uint8_t* begin_event(std::uint8_t tag, std::size_t max_bytes, std::uint64_t t) {
    std::uint8_t* p = pos_;
    if (static_cast<std::size_t>(limit_ - p) < max_bytes) [[unlikely]] {
      p = next_block(t);
      if (p == nullptr) return nullptr;
    }
    *p = tag;
    p = trace_format::put_varint(p + 1, t - last_ticks_);
    last_ticks_ = t;
    return p;
  }
  void end_event(std::uint8_t* end) {
    events_.store(events_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    commit(end);
  }

  // Decoder state mirrored by the producer (see trace_format.h, Tag).
  // hook_ticks: the runtime's hook_ticks_slot() for this thread, set by
  // attach_stream() (ro); a stream made elsewhere reads a constant 0.
  static constexpr std::uint64_t kNoHookTicks = 0;
  const std::uint64_t* hook_ticks = &kNoHookTicks;
  std::uint64_t current = 0;       // producer only
  std::uint64_t hub = 0;           // producer only: 0 until the hub is known
  std::uint64_t last_resumed = 0;  // producer only
  StringCache strings;             // producer only
  StackCache stacks;               // producer only

  // report_pending_drops() writes the Dropped event for events lost since
  // this thread last had a block. Precondition: the producer is not inside a
  // hook (stop() calls it for each thread before the final flush).
  void report_pending_drops();
  bool has_pending_drops() const { return dropped_ > 0; }

  // reset() forgets every block (the session that owned them is gone).
  // Precondition: the producer is not inside a hook.
  void reset();

  std::string name;  // ro: the thread's name when its stream was created

  std::uint32_t index() const { return index_; }
  std::int64_t os_tid() const { return os_tid_; }
  std::uint64_t events() const { return events_.load(std::memory_order_relaxed); }
  std::uint64_t last_ticks() const { return last_ticks_; }  // producer only
  std::uint64_t dropped() const { return dropped_total_.load(std::memory_order_relaxed); }

  // Shared with the writer.
  FreeRing free_blocks;                  // writer pushes, producer pops
  FullRing full_blocks;                  // producer pushes, writer pops
  std::atomic<Block*> open_block{nullptr};  // the block being filled
  std::atomic<std::uint32_t> in_hook{0};    // 1 while the producer runs a hook
  std::atomic<bool> exited{false};          // the thread has gone
  std::atomic<bool> referenced{false};      // another stream's event names this thread
  bool announced = false;                   // writer only: Thread chunk written

 private:
  // commit() publishes the bytes up to `end` to the writer.
  void commit(std::uint8_t* end) {
    pos_ = end;
    block_->committed.store(static_cast<std::uint32_t>(end - block_->data), std::memory_order_release);
  }
  std::uint8_t* next_block(std::uint64_t t);
  std::uint8_t* write_block_start(std::uint64_t t);

  const std::uint32_t index_;
  const std::int64_t os_tid_;
  Block* block_ = nullptr;
  std::uint8_t* pos_ = nullptr;
  std::uint8_t* limit_ = nullptr;
  std::uint64_t last_ticks_ = 0;
  std::uint32_t next_seq_ = 0;
  std::uint64_t dropped_ = 0;  // dropped since the last Dropped event
  std::uint64_t first_drop_ticks_ = 0;
  // Counters the writer reads; only the producer writes them.
  std::atomic<std::uint64_t> events_{0};
  std::atomic<std::uint64_t> dropped_total_{0};
};

}  // namespace gs::trace::detail
