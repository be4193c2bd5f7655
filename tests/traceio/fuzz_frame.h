// fuzz_frame.h: the framing the fuzz targets share (fuzz_load.cpp over
// traceio::load(), tests/analysis/fuzz_model_load.cpp over Model::load()):
// mutated bytes almost never keep a chunk's checksum valid, so half the
// inputs are framed: the fuzzer writes chunk contents and frame() adds
// headers with correct checksums, to reach the chunk parsers and the event
// decoder.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "greenscope/trace_format.h"

namespace gs::fuzz {

namespace tf = gs::trace_format;

// frame() reads the input as repeated (u8 type, u8 length, bytes) and
// writes a file header of `major` and one valid chunk for each (every chunk
// type of 2.0, and unknown ones).
inline std::vector<std::uint8_t> frame(const std::uint8_t* data, std::size_t size, std::uint16_t major) {
  tf::FileHeader fh{};
  std::memcpy(fh.magic, tf::kFileMagic, sizeof(fh.magic));
  fh.major = major;
  fh.header_size = sizeof(fh);
  std::vector<std::uint8_t> out(sizeof(fh));
  std::memcpy(out.data(), &fh, sizeof(fh));
  std::uint32_t sequence = 0;
  while (size >= 2) {
    tf::ChunkHeader h{};
    h.sync = tf::kChunkSync;
    h.type = static_cast<std::uint16_t>(data[0] % 12);
    h.length = static_cast<std::uint32_t>(std::min<std::size_t>(data[1], size - 2));
    h.payload_crc = tf::crc32c(data + 2, h.length);
    h.sequence = sequence++;
    h.header_crc = tf::header_crc(h);
    const auto* hp = reinterpret_cast<const std::uint8_t*>(&h);
    out.insert(out.end(), hp, hp + sizeof(h));
    out.insert(out.end(), data + 2, data + 2 + h.length);
    data += 2 + h.length;
    size -= 2 + h.length;
  }
  return out;
}

// write_input() turns a fuzz input into a trace file and returns its path,
// or "" if it could not be written. Byte 0, bit 0: framed or raw; bit 1: a
// 1.x file, where tags 0x20..0x3F are not extensions.
inline std::string write_input(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return "";
  const auto major = static_cast<std::uint16_t>(data[0] & 2 ? tf::kOldestMajor : tf::kFormatMajor);
  const std::vector<std::uint8_t> bytes =
      data[0] & 1 ? frame(data + 1, size - 1, major) : std::vector<std::uint8_t>(data + 1, data + size);
  static const std::string path = "/tmp/gs_fuzz_" + std::to_string(::getpid()) + ".gstrace";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return "";
  if (!bytes.empty()) std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  return path;
}

}  // namespace gs::fuzz
