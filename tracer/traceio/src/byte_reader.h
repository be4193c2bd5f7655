// byte_reader.h: bounds-checked reads from a byte range. Every read of file
// bytes goes through it, so a damaged length can fail a read but never
// reach past the range.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

#include "greenscope/trace_format.h"

namespace gs::traceio::detail {

class ByteReader {
 public:
  ByteReader(const std::uint8_t* begin, const std::uint8_t* end)
      : begin_(begin), p_(begin), end_(end) {}

  std::size_t position() const { return static_cast<std::size_t>(p_ - begin_); }
  std::size_t remaining() const { return static_cast<std::size_t>(end_ - p_); }
  bool at_end() const { return p_ == end_; }

  // varint() reads a LEB128 varint; false if it is cut or over-long.
  bool varint(std::uint64_t& out) {
    const std::uint8_t* p = p_;
    if (!trace_format::get_varint(p, end_, out)) return false;
    p_ = p;
    return true;
  }

  bool u8(std::uint8_t& out) {
    if (p_ == end_) return false;
    out = *p_++;
    return true;
  }

  // skip() steps over `n` bytes; false (not moving) if fewer are left.
  bool skip(std::uint64_t n) {
    if (n > remaining()) return false;
    p_ += n;
    return true;
  }

  // record() copies a fixed-size record out (the bytes need not be aligned).
  template <class T>
  bool record(T& out) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (remaining() < sizeof(T)) return false;
    std::memcpy(&out, p_, sizeof(T));
    p_ += sizeof(T);
    return true;
  }

  // string() reads a varint length and that many bytes; false if the length
  // exceeds `max` or the bytes left.
  bool string(std::string_view& out, std::uint64_t max = UINT64_MAX) {
    const std::uint8_t* saved = p_;
    std::uint64_t n = 0;
    if (!varint(n) || n > max || n > remaining()) {
      p_ = saved;
      return false;
    }
    out = std::string_view(reinterpret_cast<const char*>(p_), static_cast<std::size_t>(n));
    p_ += n;
    return true;
  }

 private:
  const std::uint8_t* begin_;
  const std::uint8_t* p_;
  const std::uint8_t* end_;
};

}  // namespace gs::traceio::detail
