// safe_text_test.cpp: traceio::terminal_text() and valid_utf8(), the text
// every output of a trace's names goes through (safe_text.h).
#include <gtest/gtest.h>

#include <string>

#include "greenscope/safe_text.h"

namespace gs::traceio {
namespace {

TEST(SafeText, PrintableTextIsUnchanged) {
  EXPECT_EQ(terminal_text("worker-3 (id 12)"), "worker-3 (id 12)");
  EXPECT_EQ(terminal_text("µs \xe2\x82\xac \xf0\x9f\x98\x80"), "µs \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(valid_utf8("µs \xe2\x82\xac"), "µs \xe2\x82\xac");
}

TEST(SafeText, ControlCharactersBecomeEscapes) {
  EXPECT_EQ(terminal_text("a\x1b[2Jb\x07\r\b\x7f"), "a\\x1b[2Jb\\x07\\x0d\\x08\\x7f");
  EXPECT_EQ(terminal_text(std::string("nul\0x", 5)), "nul\\x00x");
  EXPECT_EQ(terminal_text("c1\xc2\x9b"), "c1\\xc2\\x9b");  // U+009B, a one-character CSI
  EXPECT_EQ(terminal_text("a\tb\nc"), "a\\x09b\\x0ac");
  EXPECT_EQ(terminal_text("a\tb\nc\r", /*multiline=*/true), "a\tb\nc\\x0d");
}

TEST(SafeText, BytesThatAreNotUtf8BecomeEscapesOrReplacements) {
  EXPECT_EQ(terminal_text("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(terminal_text("\xc0\xaf"), "\\xc0\\xaf");              // overlong '/'
  EXPECT_EQ(terminal_text("\xed\xa0\x80"), "\\xed\\xa0\\x80");     // a surrogate
  EXPECT_EQ(terminal_text("cut \xe2\x82"), "cut \\xe2\\x82");      // a sequence cut short
  EXPECT_EQ(valid_utf8("a\xff" "b\xe2\x82"), "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(valid_utf8("esc\x1b[31m\xc2\x85"), "esc\xef\xbf\xbd[31m\xef\xbf\xbd");
  EXPECT_EQ(valid_utf8("tab\tnew\nline"), "tab\xef\xbf\xbdnew\xef\xbf\xbdline");
  EXPECT_EQ(valid_utf8("keeps\ttab\nand newline", /*multiline=*/true), "keeps\ttab\nand newline");
}

}  // namespace
}  // namespace gs::traceio
