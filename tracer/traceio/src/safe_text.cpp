// safe_text.cpp: text from a trace made fit for an output (safe_text.h).
#include "greenscope/safe_text.h"

#include <cstdio>

namespace gs::traceio {

namespace {

// kReplacement is U+FFFD in UTF-8.
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

bool plain(unsigned char c, bool multiline) {
  return (c >= 0x20 && c < 0x7F) || (multiline && (c == '\n' || c == '\t'));
}

// c1_control() is true for a two-byte sequence that encodes U+0080-U+009F.
bool c1_control(std::string_view text, std::size_t i, std::size_t n) {
  return n == 2 && static_cast<unsigned char>(text[i]) == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0;
}

void append_hex(std::string& out, unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
  out += buf;
}

}  // namespace

std::size_t utf8_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const unsigned lead = byte(0);
  const std::size_t n = lead < 0x80 ? 1 : lead >= 0xC2 && lead <= 0xDF ? 2 : (lead >> 4) == 0xE ? 3
                        : lead >= 0xF0 && lead <= 0xF4 ? 4 : 0;
  if (n == 0 || i + n > text.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((byte(k) & 0xC0) != 0x80) return 0;
  if ((lead == 0xE0 && byte(1) < 0xA0) || (lead == 0xED && byte(1) >= 0xA0)) return 0;
  if ((lead == 0xF0 && byte(1) < 0x90) || (lead == 0xF4 && byte(1) >= 0x90)) return 0;
  return n;
}

namespace {

// rewrite() copies `text`, keeping printable ASCII (and, with `multiline`,
// newline and tab) and well-formed UTF-8 beyond ASCII, and hands each unsafe
// piece to `unsafe(out, piece)`: a byte that starts no well-formed sequence
// or is a C0 control or DEL (one byte), or a C1 control (its two bytes).
template <class Unsafe>
std::string rewrite(std::string_view text, bool multiline, Unsafe&& unsafe) {
  std::size_t i = 0;
  while (i < text.size() && plain(static_cast<unsigned char>(text[i]), multiline)) ++i;
  if (i == text.size()) return std::string(text);  // the common case: printable ASCII
  std::string out(text.substr(0, i));
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (plain(c, multiline)) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    const std::size_t n = c < 0x80 ? 0 : utf8_length(text, i);
    const std::size_t taken = n == 0 ? 1 : n;
    if (n == 0 || c1_control(text, i, n)) unsafe(out, text.substr(i, taken));
    else out += text.substr(i, n);
    i += taken;
  }
  return out;
}

}  // namespace

std::string valid_utf8(std::string_view text, bool multiline) {
  return rewrite(text, multiline, [](std::string& out, std::string_view) { out += kReplacement; });
}

std::string terminal_text(std::string_view text, bool multiline) {
  return rewrite(text, multiline, [](std::string& out, std::string_view piece) {
    for (const char c : piece) append_hex(out, static_cast<unsigned char>(c));
  });
}

}  // namespace gs::traceio
