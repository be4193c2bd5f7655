// safe_text.h: text from a trace, made fit for an output. A trace holds what
// the program gave it, byte for byte (a greenlet's name may hold NUL, ESC,
// invalid UTF-8), and a damaged or hand-made file holds anything at all, so
// every output makes its own copy safe: the CLI's terminal text with
// terminal_text(), the viewer's (Dear ImGui wants UTF-8) with valid_utf8(),
// JSON with its escapes (tracer/cli/chrome_json.cpp, on utf8_length()).
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>

namespace gs::traceio {

// utf8_length() is the length (1-4) of the well-formed UTF-8 sequence that
// starts at text[i], or 0 (a stray continuation byte, a cut sequence, an
// overlong form, a surrogate, past U+10FFFF). Precondition: i < text.size().
inline std::size_t utf8_length(std::string_view text, std::size_t i);

// valid_utf8() is `text` with every byte that starts no well-formed sequence
// replaced by U+FFFD, and each C0 control, DEL and C1 control (U+0080 to
// U+009F) too; with `multiline`, newline and tab are kept.
inline std::string valid_utf8(std::string_view text, bool multiline = false);

// terminal_text() is `text` fit to print on a terminal: every byte of an
// ill-formed sequence, C0 control, DEL and C1 control becomes \xNN (the C1
// ones as their two UTF-8 bytes), so that nothing the program named can
// move the cursor, change colours, ring the bell, rewrite the window title
// or erase what was printed, and the output stays UTF-8. With `multiline`,
// newline and tab are kept (a run-info dump, a crash report); else they are
// escaped too (one name, one table cell, one line).
inline std::string terminal_text(std::string_view text, bool multiline = false);

}  // namespace gs::traceio

// --- Implementation (header-only: the runtime prints greenlet names on its
// own stderr, in stall reports and run-info dumps, and shares this without
// linking the reader) ---

namespace gs::traceio {

namespace safe_text_detail {

// kReplacement is U+FFFD in UTF-8.
inline constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

inline bool plain(unsigned char c, bool multiline) {
  return (c >= 0x20 && c < 0x7F) || (multiline && (c == '\n' || c == '\t'));
}

// c1_control() is true for a two-byte sequence that encodes U+0080-U+009F.
inline bool c1_control(std::string_view text, std::size_t i, std::size_t n) {
  return n == 2 && static_cast<unsigned char>(text[i]) == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0;
}

inline void append_hex(std::string& out, unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
  out += buf;
}

}  // namespace safe_text_detail

inline std::size_t utf8_length(std::string_view text, std::size_t i) {
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

namespace safe_text_detail {

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

}  // namespace safe_text_detail

inline std::string valid_utf8(std::string_view text, bool multiline) {
  return safe_text_detail::rewrite(text, multiline,
                                   [](std::string& out, std::string_view) { out += safe_text_detail::kReplacement; });
}

inline std::string terminal_text(std::string_view text, bool multiline) {
  return safe_text_detail::rewrite(text, multiline, [](std::string& out, std::string_view piece) {
    for (const char c : piece) safe_text_detail::append_hex(out, static_cast<unsigned char>(c));
  });
}

}  // namespace gs::traceio
