// stall_text.h: printed forms of stacks and stalls (stall_text.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace gs::detail {

// stack_text() symbolizes `n` lookup addresses, one "#i ..." line each.
std::string stack_text(const std::uintptr_t* pcs, std::size_t n, const char* indent);

// duration_text() is "52.3 ms", "2.41 s", "870 us".
std::string duration_text(std::int64_t ns);

}  // namespace gs::detail
