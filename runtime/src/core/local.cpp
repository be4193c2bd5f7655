#include "greenscope/local.h"

#include <atomic>

#include "hub_impl.h"

namespace gs::detail {

std::size_t new_local_key() {
  static std::atomic<std::size_t> next{0};
  return next.fetch_add(1, std::memory_order_relaxed);
}

GreenletBase& running_greenlet() { return *HubImpl::current().running(); }

}  // namespace gs::detail
