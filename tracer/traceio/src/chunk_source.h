// chunk_source.h: where the chunk walk gets a trace's bytes. load() and a
// Follower hold them in memory; scan() reads them from the file a window at
// a time, so that walking a trace of any size takes a few MiB.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gs::traceio::detail {

class ChunkSource {
 public:
  virtual ~ChunkSource() = default;
  // bytes() holds file bytes [offset, offset + n), within [base(), size()),
  // until the next call.
  virtual const std::uint8_t* bytes(std::size_t offset, std::size_t n) = 0;
  // scan_window() is how many bytes a resync asks bytes() for at once.
  virtual std::size_t scan_window() const = 0;
};

// MemorySource is file bytes [base, ...) held at `data`.
class MemorySource final : public ChunkSource {
 public:
  MemorySource(const std::uint8_t* data, std::size_t base) : data_(data), base_(base) {}
  const std::uint8_t* bytes(std::size_t offset, std::size_t) override { return data_ + (offset - base_); }
  std::size_t scan_window() const override { return SIZE_MAX; }

 private:
  const std::uint8_t* data_;
  std::size_t base_;
};

// FileSource reads an open file with pread() into a window that moves
// forward with the walk; it grows only to hold the largest chunk (16 MiB).
// Read, not mapped: a file that another process truncates gives a short
// read (the missing bytes read as zeros, which the checksums reject), not
// a SIGBUS.
class FileSource final : public ChunkSource {
 public:
  FileSource(int fd, std::size_t size) : fd_(fd), size_(size) {}
  const std::uint8_t* bytes(std::size_t offset, std::size_t n) override;
  std::size_t scan_window() const override { return kWindow; }
  // read_to() is the furthest file offset read so far.
  std::size_t read_to() const { return read_to_; }

  // read_exactly() fills `out` with file bytes [offset, offset + n), zeros
  // past a short read.
  static void read_exactly(int fd, std::uint64_t offset, std::size_t n, std::uint8_t* out);

 private:
  static constexpr std::size_t kWindow = 4u << 20;

  int fd_;
  std::size_t size_;
  std::vector<std::uint8_t> buffer_;
  std::size_t start_ = 0;  // file offset of buffer_[0]
  std::size_t read_to_ = 0;
};

}  // namespace gs::traceio::detail
