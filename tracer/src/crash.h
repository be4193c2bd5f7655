// crash.h: flushing the trace when the program crashes (crash.cpp).
#pragma once

namespace gs::trace::detail {

// install_crash_handlers() is idempotent; see crash.cpp for when it stands
// aside. remove_crash_handlers() puts back what it replaced (session stop).
void install_crash_handlers();
void remove_crash_handlers();

}  // namespace gs::trace::detail
