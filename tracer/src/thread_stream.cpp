#include "thread_stream.h"

#include "session.h"

namespace gs::trace::detail {

namespace tf = trace_format;

ThreadStream::ThreadStream(std::uint32_t index, std::int64_t os_tid) : index_(index), os_tid_(os_tid) {}

// next_block() hands the full block to the writer and continues in a free
// one. With none free, the event is dropped: counted here, and reported by a
// Dropped event at the start of the next block this thread gets.
std::uint8_t* ThreadStream::next_block(std::uint64_t t) {
  if (block_ != nullptr) {
    // Unpublish before handing over: the writer must never reach a block
    // through open_block once it may have recycled it.
    open_block.store(nullptr, std::memory_order_release);
    full_blocks.push(block_);  // cannot fail: the ring holds every block a thread can own
    block_ = nullptr;
    pos_ = limit_ = nullptr;
    wake_writer();
  }
  Block* b = free_blocks.pop();
  if (b == nullptr) {
    if (dropped_++ == 0) {
      first_drop_ticks_ = t;
      wake_writer();  // it may be asleep with blocks to give: nobody else may wake it
    }
    dropped_total_.store(dropped_total_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return nullptr;
  }
  b->seq = next_seq_++;
  b->thread = index_;
  b->flushed = 0;
  b->committed.store(0, std::memory_order_relaxed);
  block_ = b;
  limit_ = b->data + Block::kSize;
  std::uint8_t* p = write_block_start(t);
  commit(p);
  open_block.store(b, std::memory_order_release);
  return p;
}

// write_block_start() opens a block with the decoder's state, and reports
// any loss that happened while this thread had no block.
std::uint8_t* ThreadStream::write_block_start(std::uint64_t t) {
  std::uint8_t* p = block_->data;
  *p++ = static_cast<std::uint8_t>(tf::Tag::BlockStart);
  p = tf::put_varint(p, t);
  p = tf::put_varint(p, current);
  p = tf::put_varint(p, hub);
  p = tf::put_varint(p, last_resumed);
  last_ticks_ = t;
  if (dropped_ > 0) {
    *p++ = static_cast<std::uint8_t>(tf::Tag::Dropped);
    p = tf::put_varint(p, 0);
    p = tf::put_varint(p, dropped_);
    p = tf::put_varint(p, t - first_drop_ticks_);
    dropped_ = 0;
  }
  return p;
}

void ThreadStream::report_pending_drops() {
  if (dropped_ == 0) return;
  if (block_ != nullptr && static_cast<std::size_t>(limit_ - pos_) >= 1 + 3 * trace_format::kMaxVarint) {
    std::uint8_t* p = pos_;
    *p++ = static_cast<std::uint8_t>(tf::Tag::Dropped);
    const std::uint64_t t = now();
    p = tf::put_varint(p, t - last_ticks_);
    p = tf::put_varint(p, dropped_);
    p = tf::put_varint(p, t - first_drop_ticks_);
    last_ticks_ = t;
    dropped_ = 0;
    commit(p);
    return;
  }
  next_block(now());  // a fresh block opens with the Dropped report, if one is free
}

void ThreadStream::reset() {
  while (free_blocks.pop() != nullptr) {
  }
  while (full_blocks.pop() != nullptr) {
  }
  open_block.store(nullptr, std::memory_order_relaxed);
  block_ = nullptr;
  pos_ = limit_ = nullptr;
  dropped_ = 0;
  hub = 0;
  strings = StringCache{};
  stacks = StackCache{};  // its frames pointed into the ending session's table
  announced = false;
  referenced.store(false, std::memory_order_relaxed);
  events_.store(0, std::memory_order_relaxed);
  dropped_total_.store(0, std::memory_order_relaxed);
}

}  // namespace gs::trace::detail
