// chunk_parsers.h: one parser per chunk type. Each gets a payload whose
// checksum holds, yet still reads it through ByteReader: a writer bug must
// not become a reader crash.
#pragma once

#include <cstdint>

#include "load_state.h"

namespace gs::traceio::detail {

struct ChunkBytes {
  const std::uint8_t* data;
  std::uint32_t size;
  std::uint64_t offset;  // of the chunk header in the file
};

void parse_process(const ChunkBytes& chunk, LoadState& state);
void parse_thread(const ChunkBytes& chunk, LoadState& state);
void parse_strings(const ChunkBytes& chunk, LoadState& state);
void parse_events(const ChunkBytes& chunk, LoadState& state);
void parse_calibration(const ChunkBytes& chunk, LoadState& state);
void parse_end(const ChunkBytes& chunk, LoadState& state);
// Since 2.0 (stack_chunks.cpp):
void parse_modules(const ChunkBytes& chunk, LoadState& state);
void parse_stacks(const ChunkBytes& chunk, LoadState& state);
void parse_symbols(const ChunkBytes& chunk, LoadState& state);
void parse_run_info(const ChunkBytes& chunk, LoadState& state);

}  // namespace gs::traceio::detail
