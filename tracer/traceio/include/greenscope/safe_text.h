// safe_text.h: text from a trace, made fit for an output. A trace holds what
// the program gave it, byte for byte (a greenlet's name may hold NUL, ESC,
// invalid UTF-8), and a damaged or hand-made file holds anything at all, so
// every output makes its own copy safe: the CLI's terminal text with
// terminal_text(), the viewer's (Dear ImGui wants UTF-8) with valid_utf8(),
// JSON with its escapes (tracer/cli/chrome_json.cpp, on utf8_length()).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace gs::traceio {

// utf8_length() is the length (1-4) of the well-formed UTF-8 sequence that
// starts at text[i], or 0 (a stray continuation byte, a cut sequence, an
// overlong form, a surrogate, past U+10FFFF). Precondition: i < text.size().
std::size_t utf8_length(std::string_view text, std::size_t i);

// valid_utf8() is `text` with every byte that starts no well-formed sequence
// replaced by U+FFFD, and each C0 control, DEL and C1 control (U+0080 to
// U+009F) too; with `multiline`, newline and tab are kept.
std::string valid_utf8(std::string_view text, bool multiline = false);

// terminal_text() is `text` fit to print on a terminal: every byte of an
// ill-formed sequence, C0 control, DEL and C1 control becomes \xNN (the C1
// ones as their two UTF-8 bytes), so that nothing the program named can
// move the cursor, change colours, ring the bell, rewrite the window title
// or erase what was printed, and the output stays UTF-8. With `multiline`,
// newline and tab are kept (a run-info dump, a crash report); else they are
// escaped too (one name, one table cell, one line).
std::string terminal_text(std::string_view text, bool multiline = false);

}  // namespace gs::traceio
