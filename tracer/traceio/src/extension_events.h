// extension_events.h: decoding format 2.0's extension events (tags
// kFirstExtension..kLastExtension). Each carries its byte length after the
// tick delta, so the block decoder hands over exactly its field bytes: a tag
// this reader does not know is skipped, and fields a newer minor version
// appends are ignored.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "byte_reader.h"
#include "clock_fit.h"
#include "load_state.h"

namespace gs::traceio::detail {

// is_extension() is true for the tags of the length-prefixed range.
constexpr bool is_extension(std::uint8_t tag) {
  return tag >= trace_format::kFirstExtension && tag <= trace_format::kLastExtension;
}

// ExtensionInput is one extension event as the block decoder found it.
struct ExtensionInput {
  std::uint8_t tag = 0;
  ByteReader fields;           // exactly the event's length-prefixed bytes
  std::uint32_t thread = 0;    // whose stream holds it
  std::uint64_t offset = 0;    // file offset of its tag
  // string() maps a Strings id to a text index, reporting an undefined one.
  std::function<std::uint32_t(std::uint64_t)> string;
};

enum class ExtensionResult {
  Decoded,    // `e` is filled in (type and fields; the caller set time and greenlet)
  Unknown,    // a tag this reader does not know: skip it
  Malformed,  // its fields do not decode: `why` says how
};

// decode_extension() decodes `in` into `e` and files what the trace's
// tables keep (stalls, crash stacks) into `state`.
ExtensionResult decode_extension(ExtensionInput& in, const ClockFit& clock, LoadState& state, Event& e,
                                 std::string& why);

}  // namespace gs::traceio::detail
