#include <gtest/gtest.h>

#include <random>
#include <string_view>
#include <vector>

#include "crc32c_internal.h"
#include "greenscope/trace_format.h"

namespace gs::test {
namespace {

namespace tf = gs::trace_format;

// bitwise_crc32c() is the textbook one-bit-at-a-time CRC-32C.
std::uint32_t bitwise_crc32c(const std::uint8_t* p, std::size_t n) {
  std::uint32_t crc = ~0u;
  for (std::size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int b = 0; b < 8; ++b) crc = (crc >> 1) ^ ((crc & 1) ? 0x82F63B78u : 0);
  }
  return ~crc;
}

TEST(Crc32c, MatchesTheCheckValue) {
  constexpr std::string_view kCheck = "123456789";
  EXPECT_EQ(tf::crc32c(kCheck.data(), kCheck.size()), 0xE3069283u);
  EXPECT_EQ(tf::detail::crc32c_portable(kCheck.data(), kCheck.size()), 0xE3069283u);
  EXPECT_EQ(tf::crc32c(nullptr, 0), 0u);
}

TEST(Crc32c, ContinuesFromAPreviousResult) {
  constexpr std::string_view kText = "The quick brown fox jumps over the lazy dog";
  const std::uint32_t whole = tf::crc32c(kText.data(), kText.size());
  for (std::size_t cut = 0; cut <= kText.size(); ++cut) {
    const std::uint32_t head = tf::crc32c(kText.data(), cut);
    EXPECT_EQ(tf::crc32c(kText.data() + cut, kText.size() - cut, head), whole) << "cut at " << cut;
    const std::uint32_t head_sw = tf::detail::crc32c_portable(kText.data(), cut);
    EXPECT_EQ(tf::detail::crc32c_portable(kText.data() + cut, kText.size() - cut, head_sw), whole);
  }
}

TEST(Crc32c, BothImplementationsMatchTheBitwiseOneAtEveryLengthAndAlignment) {
  std::mt19937 rng(7);
  std::vector<std::uint8_t> buf(300);
  for (auto& b : buf) b = static_cast<std::uint8_t>(rng());
  for (std::size_t start = 0; start < 8; ++start) {
    for (std::size_t n = 0; n + start <= buf.size(); n += 7) {
      const std::uint32_t want = bitwise_crc32c(buf.data() + start, n);
      EXPECT_EQ(tf::crc32c(buf.data() + start, n), want) << start << "+" << n;
      EXPECT_EQ(tf::detail::crc32c_portable(buf.data() + start, n), want) << start << "+" << n;
    }
  }
}

}  // namespace
}  // namespace gs::test
