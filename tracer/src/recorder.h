// recorder.h: the runtime observer that turns hooks into events.
#pragma once

#include "greenscope/observer.h"

namespace gs::trace::detail {

// recorder() is the one observer tracing installs (process lifetime).
Observer& recorder();

}  // namespace gs::trace::detail
