// crash.h: flushing the trace when the program crashes (crash.cpp).
#pragma once

namespace gs::trace::detail {

// install_crash_handlers() is idempotent; see crash.cpp for what it keeps.
void install_crash_handlers();

}  // namespace gs::trace::detail
