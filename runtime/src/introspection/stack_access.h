// stack_access.h: the one private member of a greenlet that stack walks
// need, its saved context (GreenletBase befriends StackAccess for this).
#pragma once

#include "greenscope/detail/greenlet_base.h"

namespace gs::detail {

struct StackAccess {
  // saved_context() is g's fcontext while it is suspended (stale once it
  // runs or dies; null before it started): the one accessor the stack walks
  // (stacks.cpp, run_info.cpp) use. Precondition: called on g's hub thread.
  static const void* saved_context(const GreenletBase& g) { return g.context_; }
};

}  // namespace gs::detail
