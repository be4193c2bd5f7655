// local.h: greenlet-local storage (gevent.local).
#pragma once

#include <cstddef>
#include <memory>

#include "greenscope/detail/greenlet_base.h"

namespace gs {

namespace detail {
std::size_t new_local_key();
GreenletBase& running_greenlet();
}  // namespace detail

// GreenletLocal<T> gives every greenlet (and each thread's main greenlet)
// its own T, default-constructed on first access from that greenlet and
// destroyed when the greenlet finishes.
template <class T>
class GreenletLocal {
 public:
  GreenletLocal() : key_(detail::new_local_key()) {}
  GreenletLocal(const GreenletLocal&) = delete;
  GreenletLocal& operator=(const GreenletLocal&) = delete;

  // get() is the running greenlet's value.
  T& get() {
    std::shared_ptr<void>& slot = detail::running_greenlet().local_slot(key_);
    if (!slot) slot = std::make_shared<T>();
    return *static_cast<T*>(slot.get());
  }
  T& operator*() { return get(); }
  T* operator->() { return &get(); }
  // has_value() is true once the running greenlet touched its value.
  bool has_value() const { return detail::running_greenlet().local_slot(key_) != nullptr; }

 private:
  std::size_t key_;
};

}  // namespace gs
