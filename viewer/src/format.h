// format.h: times, durations and system names as people read them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace gs::viewer {

// format_duration(): "850 ns", "12.4 µs", "3.05 ms", "1.20 s" (three digits).
std::string format_duration(std::int64_t ns);
// format_time(): a position on the axis, in ms with µs digits: "123.456 ms".
std::string format_time(std::int64_t ns);
// format_tick(): a ruler label for `ns`, in the unit `step_ns` calls for.
std::string format_tick(std::int64_t ns, std::int64_t step_ns);
std::string format_hex(std::uint64_t v);
std::string signal_name(int sig);
std::string format_count(std::uint64_t n);  // "1,234,567"
// ui_text() is text from a trace that did not come through the Model's
// texts (which are made valid already: Model::intern()) fit to draw:
// U+FFFD for control characters and bytes that are not UTF-8; with
// `multiline`, newlines and tabs kept (traceio::valid_utf8()).
std::string ui_text(std::string_view text, bool multiline = false);

}  // namespace gs::viewer
