// shown_test.cpp: shown_into(), the crash handler's allocation-free form of
// shown(), prints every name exactly as shown() (traceio::terminal_text)
// does, and cuts a long one before an escape or a UTF-8 sequence.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "shown.h"

namespace {

std::string into(std::string_view name, std::size_t cap = 1024) {
  std::vector<char> out(cap, '#');
  const std::size_t n = gs::detail::shown_into(name, out.data(), cap);
  EXPECT_LT(n, cap);
  EXPECT_EQ(out[n], '\0');
  return std::string(out.data(), n);
}

TEST(ShownInto, PrintsWhatShownPrints) {
  const std::vector<std::string> names = {
      "worker-1",
      "",
      "\x1b]0;pwned\x07",                    // OSC title rewrite with BEL
      "\x1b[2J\x1b[Hclear",                  // erase screen
      std::string("nul\0inside", 10),
      "tab\there\nnewline",
      "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x90\x8d",  // UTF-8 kept
      "\xc2\x9b" "31m C1 CSI",               // C1 control: both bytes escaped
      "\xc3",                                // cut sequence
      "\xed\xa0\x80 surrogate",              // ill-formed
      "\xc0\xaf overlong",
      "del\x7f",
  };
  for (const std::string& n : names) EXPECT_EQ(into(n), gs::detail::shown(n)) << gs::detail::shown(n);
}

TEST(ShownInto, RandomBytesPrintAsShownDoes) {
  std::mt19937 rng(12345);
  for (int round = 0; round < 2000; ++round) {
    std::string n(rng() % 40, '\0');
    for (char& c : n) c = static_cast<char>(rng() % 256);
    ASSERT_EQ(into(n, 4 * 40 + 1), gs::detail::shown(n)) << gs::detail::shown(n);
  }
}

TEST(ShownInto, ALongNameIsCutBeforeAnEscapeOrASequenceNotThroughIt) {
  // 7 bytes of room: "ab" fits, the escape of ESC (4 bytes) would end past it.
  EXPECT_EQ(into("ab\x1b" "cd", 6), "ab");
  EXPECT_EQ(into("ab\x1b" "cd", 7), "ab\\x1b");
  // A 3-byte sequence does not fit in 2 bytes of room after "a".
  EXPECT_EQ(into("a\xe2\x9c\x93", 4), "a");
  EXPECT_EQ(into("a\xe2\x9c\x93", 5), "a\xe2\x9c\x93");
  EXPECT_EQ(into("anything", 1), "");
}

}  // namespace
