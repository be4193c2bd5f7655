// types.h: vocabulary shared by every part of the runtime and its observers.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <string_view>

namespace gs {

// Duration is how every timeout and delay is expressed. Any std::chrono
// duration converts to it implicitly: join(std::chrono::milliseconds(50)).
// Every call that takes a timeout reads it the same way (gevent's):
//   0 or negative   already passed: the call does not wait (a negative
//                   timeout is what `deadline - now` gives once it passed);
//                   a gs::Timeout of it expires at the first blocking point
//   1e9 s or more   no limit, like kForever (31 years: no timer is meant
//                   to run that long, and std::chrono::hours::max() lands
//                   here instead of overflowing the clock)
//   NaN             UsageError naming the call
// Socket timeouts refuse negative values (as Python's settimeout does):
// socket.h.
using Duration = std::chrono::duration<double>;

// kForever, passed as a timeout, means "wait without a time limit". It is
// infinity, which no arithmetic on real timeouts reaches by accident.
inline constexpr Duration kForever{std::numeric_limits<double>::infinity()};

// GreenletState is a greenlet's lifecycle. Every transition is asserted by the
// runtime (see docs/runtime.md for the diagram):
//   New -> Ready       spawn() queued it (spawn_later: when its timer fires)
//   New/Ready -> Dead  killed before it ever ran: it never runs
//   Ready -> Running   the hub switched to it
//   Running -> Ready   yield(): queued behind every greenlet already ready
//   Running -> Waiting it blocked (sleep, io, event, lock, queue, join, idle)
//   Waiting -> Ready   what it waited for happened, it timed out, or was killed
//   Running -> Dead    its function returned or threw
enum class GreenletState : std::uint8_t { New, Ready, Running, Waiting, Dead };

// SwitchReason says why a switch happened. For a greenlet leaving the CPU it
// is what it now waits for; for the hub resuming a greenlet it is Resume,
// or Kill / Timeout when the greenlet resumes only to receive that exception.
enum class SwitchReason : std::uint8_t {
  Resume,   // the hub resumes a ready greenlet
  Yield,    // gs::yield(): ready again at once
  Sleep,    // gs::sleep()
  Io,       // waiting for a file descriptor
  Event,    // Event / AsyncResult wait
  Lock,     // Semaphore / Lock / RLock acquire
  Queue,    // Queue / Channel put or get
  Join,     // join() / joinall() / kill() waiting for a greenlet to die
  Idle,     // gs::idle()
  Wait,     // any other wait (Pool, Group, user primitives)
  Kill,     // the hub resumes a greenlet to raise GreenletExit in it
  Timeout,  // the hub resumes a greenlet to raise TimeoutError in it
  Exit,     // the greenlet finished; control goes to the hub for good
  LoopExit  // the loop ran out of work; the hub hands control to main
};

// ExitKind says how a greenlet ended.
enum class ExitKind : std::uint8_t {
  Returned,     // its function returned
  Failed,       // an exception escaped its function
  Killed,       // GreenletExit (kill())
  NeverStarted  // killed before it first ran
};

// WaitInfo describes what a suspended greenlet waits on: the reason and the
// object (an Event, a Queue, a greenlet...). LoopExit messages and the tracer
// read it.
struct WaitInfo {
  SwitchReason reason = SwitchReason::Wait;
  // object is the primitive waited on, or nullptr; for Join, the joined
  // greenlet as a const GreenletInfo*.
  const void* object = nullptr;
  const char* what = "";         // a static description, e.g. "Event.wait()"
  // fd and io_events (kIoRead | kIoWrite) say what an Io wait waits for;
  // -1 and 0 for every other reason.
  int fd = -1;
  int io_events = 0;
};

// Io readiness bits, as in WaitInfo::io_events and gs::wait_io().
inline constexpr int kIoRead = 1;
inline constexpr int kIoWrite = 2;

std::string_view to_string(GreenletState state);
std::string_view to_string(SwitchReason reason);
std::string_view to_string(ExitKind kind);

}  // namespace gs
