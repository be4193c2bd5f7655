#include "code_chunks.h"

#include <algorithm>

namespace gs::trace::detail {

namespace tf = trace_format;

namespace {

// kChunkTarget splits long lists into chunks well under kMaxChunkLength.
constexpr std::size_t kChunkTarget = 1u << 20;

bool same_module(const symbols::Module& a, const symbols::Module& b) {
  return a.base == b.base && a.lo == b.lo && a.hi == b.hi && a.path == b.path;
}

// ChunkSplitter writes entries of one chunk type, starting a new chunk past
// kChunkTarget bytes.
class ChunkSplitter {
 public:
  ChunkSplitter(ChunkFile& file, tf::ChunkType type) : file_(file), type_(type) {}
  ~ChunkSplitter() { flush(); }
  ChunkSplitter(const ChunkSplitter&) = delete;
  ChunkSplitter& operator=(const ChunkSplitter&) = delete;
  PayloadBuilder& entry() {
    if (b_.bytes().size() >= kChunkTarget) flush();
    return b_;
  }

 private:
  void flush() {
    if (!b_.bytes().empty()) file_.write_chunk(type_, b_.bytes().data(), b_.bytes().size());
    b_.clear();
  }
  ChunkFile& file_;
  const tf::ChunkType type_;
  PayloadBuilder b_;
};

}  // namespace

void CodeChunks::refresh_modules(bool force) {
  // modules_changed() is cheap (two counters); loaded_modules() about 60 us.
  if (!force && !modules_.empty() && !symbols::modules_changed()) return;
  for (symbols::Module& m : symbols::loaded_modules()) {
    const bool known = std::any_of(modules_.begin(), modules_.end(), [&](const symbols::Module& k) { return same_module(k, m); });
    if (!known) modules_.push_back(std::move(m));
  }
}

bool CodeChunks::in_known_module(std::uintptr_t address) const {
  return std::any_of(modules_.begin(), modules_.end(),
                     [&](const symbols::Module& m) { return address >= m.lo && address < m.hi; });
}

void CodeChunks::write_modules(ChunkFile& file, bool all) {
  refresh_modules(false);
  const std::size_t from = all ? 0 : modules_written_;
  if (from < modules_.size()) {
    ChunkSplitter out(file, tf::ChunkType::Modules);
    for (std::size_t i = from; i < modules_.size(); ++i) {
      const symbols::Module& m = modules_[i];
      PayloadBuilder& b = out.entry();
      b.varint(i + 1);
      b.varint(m.base);
      b.varint(m.lo);
      b.varint(m.hi);
      b.string(m.path);
      b.string(m.build_id);
    }
  }
  modules_written_ = modules_.size();
}

// queue_addresses() hands the resolver each address not seen before in
// this session. One in no known module was loaded since the last look
// (dlopen): the module map is refreshed, so that it names it.
void CodeChunks::queue_addresses(const std::uintptr_t* addresses, std::size_t n) {
  std::vector<std::uintptr_t> fresh;
  bool rescanned = false;
  for (std::size_t i = 0; i < n; ++i) {
    if (!seen_.insert(addresses[i]).second) continue;
    fresh.push_back(addresses[i]);
    if (!rescanned && !in_known_module(addresses[i])) {
      refresh_modules(true);
      rescanned = true;
    }
  }
  resolver_.add(fresh);
}

void CodeChunks::collect_new_stacks() {
  std::vector<const StackEntry*> stacks;
  std::vector<std::uintptr_t> loose;
  table_.take_new(stacks, loose);
  for (const StackEntry* s : stacks) queue_addresses(s->frames.data(), s->frames.size());
  queue_addresses(loose.data(), loose.size());
}

void CodeChunks::write_new_stacks(ChunkFile& file) {
  std::vector<const StackEntry*> stacks;
  std::vector<std::uintptr_t> loose;
  table_.take_new(stacks, loose);
  write_stacks(file, stacks);
  for (const StackEntry* s : stacks) queue_addresses(s->frames.data(), s->frames.size());
  queue_addresses(loose.data(), loose.size());
}

void CodeChunks::write_stacks(ChunkFile& file, const std::vector<const StackEntry*>& stacks) {
  if (stacks.empty()) return;
  ChunkSplitter out(file, tf::ChunkType::Stacks);
  for (const StackEntry* s : stacks) {
    PayloadBuilder& b = out.entry();
    b.varint(s->id);
    b.varint(s->frames.size());
    for (std::uintptr_t a : s->frames) b.varint(a);
  }
}

void CodeChunks::collect_symbols(unsigned wait_ms) {
  for (auto& [address, entry] : resolver_.take(wait_ms)) {
    if (!entry.empty()) unwritten_.push_back(address);
    resolved_.emplace(address, std::move(entry));
  }
}

void CodeChunks::write_new_symbols(ChunkFile& file) {
  write_symbols(file, unwritten_);
  unwritten_.clear();
}

void CodeChunks::write_symbols(ChunkFile& file, const std::vector<std::uintptr_t>& addresses) {
  if (addresses.empty()) return;
  ChunkSplitter out(file, tf::ChunkType::Symbols);
  for (std::uintptr_t a : addresses) {
    const std::vector<std::uint8_t>& entry = resolved_.at(a);
    out.entry().append(entry.data(), entry.size());
  }
}

void CodeChunks::write_all_stacks(ChunkFile& file) {
  write_modules(file, true);
  write_stacks(file, table_.all());
}

void CodeChunks::write_all_symbols(ChunkFile& file, unsigned wait_ms) {
  collect_new_stacks();
  collect_symbols(wait_ms);
  std::vector<std::uintptr_t> known;
  for (const auto& [address, entry] : resolved_)
    if (!entry.empty()) known.push_back(address);
  write_symbols(file, known);
  unwritten_.clear();
}

}  // namespace gs::trace::detail
