// chunk_walk.cpp: the walk over a trace's chunks. A chunk is trusted only
// once its header checksum holds (so its length can be followed) and its
// payload checksum holds (so its contents can be parsed). Past any damage
// the walk scans forward for the next header whose checksum holds.
#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <string>

#include "chunk_parsers.h"
#include "chunk_source.h"
#include "load_state.h"

namespace gs::traceio::detail {
namespace {

using trace_format::ChunkHeader;
using trace_format::ChunkType;

constexpr std::size_t kHeader = sizeof(ChunkHeader);
constexpr std::array<char, 4> kSyncBytes = {'G', 'S', 'C', 'K'};
static_assert(std::bit_cast<std::uint32_t>(kSyncBytes) == trace_format::kChunkSync);

// ChunkWalker walks file bytes [.., size) that `source` holds. Offsets are
// the file's; at() is where n of them are held, until the next at().
class ChunkWalker {
 public:
  ChunkWalker(ChunkSource& source, std::size_t size, LoadState& state, bool growing)
      : source_(source), size_(size), state_(state), growing_(growing) {}

  std::size_t run(std::size_t offset) {
    while (offset < size_) {
      const std::size_t next = step(offset);
      if (next == kWait) return offset;
      offset = next;
    }
    return offset;
  }

 private:
  // header_at() reads the header at `offset` if one fits there and both its
  // sync word and its checksum hold.
  bool header_at(std::size_t offset, ChunkHeader& h) const {
    if (size_ - offset < kHeader) return false;
    std::memcpy(&h, at(offset, kHeader), kHeader);
    return h.sync == trace_format::kChunkSync && h.header_crc == trace_format::header_crc(h);
  }

  // resync() is the offset of the first valid chunk header at or after
  // `from`, or the file size if there is none.
  // It searches a window at a time, the next one overlapping the last by a
  // sync word's bytes less one, so that a sync word across two is found.
  std::size_t resync(std::size_t from) const {
    ChunkHeader h;
    for (std::size_t pos = from; pos < size_ && size_ - pos >= kHeader;) {
      const std::size_t n = std::min(size_ - pos, source_.scan_window());
      const std::uint8_t* window = at(pos, n);
      const void* hit = ::memmem(window, n, kSyncBytes.data(), kSyncBytes.size());
      if (hit == nullptr) {
        if (n == size_ - pos) break;
        pos += n - (kSyncBytes.size() - 1);
        continue;
      }
      pos += static_cast<std::size_t>(static_cast<const std::uint8_t*>(hit) - window);
      if (header_at(pos, h)) return pos;
      ++pos;
    }
    return size_;
  }

  // kWait: step() met the end of a growing file inside a chunk.
  static constexpr std::size_t kWait = SIZE_MAX;

  // incomplete() is true when the bytes at `offset` can be the start of a
  // chunk the writer has not finished: the file's last bytes, a header that
  // does not hold yet or one whose payload goes past the end.
  bool incomplete(std::size_t offset) const {
    if (!growing_) return false;
    if (size_ - offset < kHeader) return true;
    ChunkHeader h;
    std::memcpy(&h, at(offset, kHeader), kHeader);
    if (h.sync != trace_format::kChunkSync || h.header_crc != trace_format::header_crc(h)) {
      // A writer appends whole chunks: a bad header mid-file is damage, but
      // the bytes just written may not all be visible yet.
      return resync(offset + 1) == size_;
    }
    return h.length <= trace_format::kMaxChunkLength && h.length > size_ - offset - kHeader;
  }

  // step() handles the chunk at `offset` and returns where the next begins.
  std::size_t step(std::size_t offset) {
    if (incomplete(offset)) return kWait;
    if (size_ - offset < kHeader) return tail(offset);
    ChunkHeader h;
    std::memcpy(&h, at(offset, kHeader), kHeader);
    if (h.sync != trace_format::kChunkSync) {
      return damaged(offset, "no chunk header where one should be");
    }
    if (h.header_crc != trace_format::header_crc(h)) {
      return damaged(offset, "header checksum mismatch");
    }
    if (h.length > trace_format::kMaxChunkLength) {
      return damaged(offset,
                     "length " + std::to_string(h.length) + " exceeds the 16 MiB chunk limit");
    }
    if (h.length > size_ - offset - kHeader) return truncated(offset);
    const std::uint8_t* payload = at(offset, kHeader + h.length) + kHeader;
    const std::size_t next = offset + kHeader + h.length;
    if (trace_format::crc32c(payload, h.length) != h.payload_crc) {
      // The file's last chunk may be visible before all its bytes are.
      if (growing_ && next == size_) return kWait;
      state_.problem(offset, "chunk at offset " + std::to_string(offset) +
                                 ": payload checksum mismatch; its contents are skipped");
      return next;
    }
    ++state_.stats.chunks;
    dispatch(h, ChunkBytes{payload, h.length, offset}, state_);
    return next;
  }

  // tail() handles bytes too few for a chunk header at the end of the file:
  // the start of a header means the writer was cut off, anything else is damage.
  std::size_t tail(std::size_t offset) {
    const std::size_t n = std::min(size_ - offset, kSyncBytes.size());
    if (std::memcmp(at(offset, n), kSyncBytes.data(), n) == 0) return truncated(offset);
    state_.problem(offset, "offset " + std::to_string(offset) + ": " +
                               std::to_string(size_ - offset) +
                               " bytes at the end of the file are not a chunk; they are skipped");
    return size_;
  }

  std::size_t truncated(std::size_t offset) {
    state_.problem(offset,
                   "truncated: the file ends inside a chunk at offset " + std::to_string(offset) +
                       " (the program was killed or the file cut); events up to there are shown");
    return resync(offset + 1);
  }

  // damaged() reports an unreadable chunk header and skips to the next valid one.
  std::size_t damaged(std::size_t offset, const std::string& what) {
    const std::size_t next = resync(offset + 1);
    std::string where =
        next < size_ ? "the next chunk at offset " + std::to_string(next) : "the end of the file";
    state_.problem(offset, "chunk at offset " + std::to_string(offset) + ": " + what +
                               "; skipped " + std::to_string(next - offset) + " bytes to " + where);
    return next;
  }

  static void dispatch(const ChunkHeader& h, const ChunkBytes& chunk, LoadState& state) {
    switch (static_cast<ChunkType>(h.type)) {
      case ChunkType::Process: return parse_process(chunk, state);
      case ChunkType::Thread: return parse_thread(chunk, state);
      case ChunkType::Strings: return parse_strings(chunk, state);
      case ChunkType::Events: return parse_events(chunk, state);
      case ChunkType::Calibration: return parse_calibration(chunk, state);
      case ChunkType::End: return parse_end(chunk, state);
      case ChunkType::Modules: return parse_modules(chunk, state);
      case ChunkType::Stacks: return parse_stacks(chunk, state);
      case ChunkType::Symbols: return parse_symbols(chunk, state);
      case ChunkType::RunInfo: return parse_run_info(chunk, state);
    }
    ++state.stats.chunks_skipped_unknown;
  }

  const std::uint8_t* at(std::size_t offset, std::size_t n) const { return source_.bytes(offset, n); }

  ChunkSource& source_;
  std::size_t size_;
  LoadState& state_;
  bool growing_;
};

}  // namespace

void walk_chunks(const std::uint8_t* file, std::size_t offset, LoadState& state) {
  MemorySource source(file, 0);
  walk_chunks(source, offset, state);
}

void walk_chunks(ChunkSource& source, std::size_t offset, LoadState& state) {
  ChunkWalker(source, state.file_size, state, false).run(offset);
}

std::size_t walk_new_chunks(const std::uint8_t* data, std::size_t base, std::size_t size, LoadState& state) {
  MemorySource source(data, base);
  return ChunkWalker(source, size, state, true).run(base);
}

}  // namespace gs::traceio::detail
