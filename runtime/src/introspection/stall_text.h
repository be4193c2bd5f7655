// stall_text.h: printed forms of stacks and stalls (stall_text.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "greenscope/stall.h"
#include "greenscope/stall_verdict.h"

namespace gs::detail {

// stack_text() symbolizes `n` lookup addresses, one "#i ..." line each.
std::string stack_text(const std::uintptr_t* pcs, std::size_t n, const char* indent);

// on_full_stack() returns fn(), run where a thread's full stack is under
// it: inline on a thread's own stack, on a short-lived helper thread when
// the caller runs on a greenlet's. Symbolizing needs it: libdw reading a
// module's line table takes over 96 KiB of stack, more than a greenlet has.
std::string on_full_stack(const std::function<std::string()>& fn);

// on_full_stack_value() is on_full_stack() for any result.
template <class T, class Fn>
T on_full_stack_value(Fn fn) {
  T out;
  on_full_stack([&] {
    out = fn();
    return std::string();
  });
  return out;
}

// measured() is what the monitor measured of a stall, for the verdict.
inline verdict::Measured measured(const StallReport& r) {
  return {r.cpu_time.count(), r.cpu_window.count(), r.run_delay.count(), r.duration.count(), r.threshold.count()};
}

// duration_text() is "52.3 ms", "2.41 s", "870 us".
std::string duration_text(std::int64_t ns);

}  // namespace gs::detail
