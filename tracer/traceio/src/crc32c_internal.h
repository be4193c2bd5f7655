// crc32c_internal.h: the table implementation behind crc32c(), exposed so
// the tests can check it on machines whose crc32c() takes the SSE4.2 path.
#pragma once

#include "greenscope/trace_format.h"

namespace gs::trace_format::detail {

// crc32c_portable() is crc32c() without the SSE4.2 instruction.
std::uint32_t crc32c_portable(const void* data, std::size_t size, std::uint32_t crc = 0);

}  // namespace gs::trace_format::detail
