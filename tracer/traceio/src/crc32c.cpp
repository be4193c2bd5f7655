// crc32c.cpp: CRC-32C for trace chunks. The writer checksums every chunk it
// ships, so the common path is the SSE4.2 crc32 instruction; CPUs without it
// (and other architectures) use a slicing-by-8 table.
#include <array>

#include "crc32c_internal.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace gs::trace_format {
namespace {

constexpr std::uint32_t kPoly = 0x82F63B78;  // Castagnoli, reflected

using Tables = std::array<std::array<std::uint32_t, 256>, 8>;

// make_tables() builds the slicing-by-8 tables: tables[k][b] is the CRC of
// byte b followed by k zero bytes.
constexpr Tables make_tables() {
  Tables t{};
  for (std::uint32_t b = 0; b < 256; ++b) {
    std::uint32_t c = b;
    for (int i = 0; i < 8; ++i) c = (c >> 1) ^ ((c & 1) ? kPoly : 0);
    t[0][b] = c;
  }
  for (std::size_t k = 1; k < 8; ++k) {
    for (std::uint32_t b = 0; b < 256; ++b) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFF];
  }
  return t;
}

constexpr Tables kTables = make_tables();

#if defined(__x86_64__)
// crc32c_sse42() runs on the raw (uninverted) state; the caller inverts.
__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(const std::uint8_t* p, std::size_t n,
                                                             std::uint32_t state) {
  std::uint64_t s = state;
  for (; n >= 8; n -= 8, p += 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    s = _mm_crc32_u64(s, word);
  }
  auto s32 = static_cast<std::uint32_t>(s);
  for (; n > 0; --n) s32 = _mm_crc32_u8(s32, *p++);
  return s32;
}
#endif

std::uint32_t crc32c_table_state(const std::uint8_t* p, std::size_t n, std::uint32_t s) {
  for (; n >= 8; n -= 8, p += 8) {
    std::uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    lo ^= s;
    s = kTables[7][lo & 0xFF] ^ kTables[6][(lo >> 8) & 0xFF] ^ kTables[5][(lo >> 16) & 0xFF] ^
        kTables[4][lo >> 24] ^ kTables[3][hi & 0xFF] ^ kTables[2][(hi >> 8) & 0xFF] ^
        kTables[1][(hi >> 16) & 0xFF] ^ kTables[0][hi >> 24];
  }
  for (; n > 0; --n) s = (s >> 8) ^ kTables[0][(s ^ *p++) & 0xFF];
  return s;
}

using StateFn = std::uint32_t (*)(const std::uint8_t*, std::size_t, std::uint32_t);

// pick_implementation() runs once: the CPU does not change under us.
StateFn pick_implementation() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("sse4.2")) return crc32c_sse42;
#endif
  return crc32c_table_state;
}

}  // namespace

std::uint32_t crc32c(const void* data, std::size_t size, std::uint32_t crc) {
  static const StateFn impl = pick_implementation();
  return ~impl(static_cast<const std::uint8_t*>(data), size, ~crc);
}

namespace detail {

std::uint32_t crc32c_portable(const void* data, std::size_t size, std::uint32_t crc) {
  return ~crc32c_table_state(static_cast<const std::uint8_t*>(data), size, ~crc);
}

}  // namespace detail
}  // namespace gs::trace_format
