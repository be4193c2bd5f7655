// block_decoder.h: decoding one block of a thread's event stream. A block
// is decodable on its own: it opens with BlockStart, which gives the
// absolute tick count and the greenlets the decoder tracks.
#pragma once

#include <cstdint>
#include <vector>

#include "clock_fit.h"
#include "load_state.h"

namespace gs::traceio::detail {

// BlockPiece maps a stretch of a block, from `block_pos` on, back to the file.
struct BlockPiece {
  std::size_t block_pos = 0;
  std::uint64_t file_offset = 0;
};

// BlockBytes is one block's slices, concatenated.
struct BlockBytes {
  std::uint32_t thread = 0;
  std::uint32_t block_seq = 0;
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
  std::vector<BlockPiece> pieces;  // in block_pos order, the first at 0

  // file_offset() is where block byte `pos` sits in the file.
  std::uint64_t file_offset(std::size_t pos) const;
};

// decode_block() appends the block's events to its thread, counts them in
// the stats, and reports the first malformed event, after which the rest
// of the block cannot be decoded.
void decode_block(const BlockBytes& block, const ClockFit& clock, LoadState& state);

// DecoderState is where decoding a block stands between two of its pieces:
// the tick count and the greenlets the decoder tracks.
struct DecoderState {
  std::uint64_t ticks = 0, current = 0, hub = 0, last_resumed = 0;
};

// decode_block_part() decodes bytes that go on from where `ds` left a
// block, or that begin one (`at_start`: they open with BlockStart), as
// decode_block() does the whole block; `ds` is then where they end. A
// followed file's blocks arrive a slice at a time (the writer ships whole
// events), so each slice is decoded once, as it comes. False when the bytes
// were malformed (reported): the rest of the block cannot be decoded.
bool decode_block_part(const BlockBytes& bytes, bool at_start, const ClockFit& clock, LoadState& state,
                       DecoderState& ds);

// block_start_ticks() peeks at the BlockStart's absolute ticks; false if
// `data` does not start with one.
bool block_start_ticks(const std::uint8_t* data, std::size_t size, std::uint64_t& ticks);

}  // namespace gs::traceio::detail
