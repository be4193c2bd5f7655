#include "run_info_queue.h"

namespace gs::trace::detail {

namespace tf = trace_format;

void RunInfoQueue::push(std::uint64_t ticks, std::string_view trigger, std::string_view text) {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.push_back(Entry{ticks, std::string(trigger), std::string(text)});
  if (keep_ && entries_.size() > kKept) entries_.pop_front();
}

void RunInfoQueue::write_new(ChunkFile& file) {
  std::deque<Entry> taken;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    taken.swap(entries_);
  }
  for (const Entry& e : taken) write(file, e);
}

void RunInfoQueue::write_kept(ChunkFile& file) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const Entry& e : entries_) write(file, e);
}

// write() makes one RunInfo chunk. A dump of a big process can run past a
// chunk's limit: its text is cut there.
void RunInfoQueue::write(ChunkFile& file, const Entry& e) {
  PayloadBuilder b;
  b.varint(e.ticks);
  b.string(std::string_view(e.trigger).substr(0, tf::kMaxInlineString));
  b.string(std::string_view(e.text).substr(0, tf::kMaxChunkLength - 4096));
  file.write_chunk(tf::ChunkType::RunInfo, b.bytes().data(), b.bytes().size());
}

}  // namespace gs::trace::detail
