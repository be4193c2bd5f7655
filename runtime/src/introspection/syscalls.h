// syscalls.h: what the stall monitor needs to know about the syscall a
// stalled thread is blocked in: its name, and whether a signal handled with
// SA_RESTART interrupts it invisibly (the kernel restarts it) or makes it
// fail with EINTR (signal(7): sleeps, poll/select/epoll, and a few more).
#pragma once

#include <string>

namespace gs::detail {

// syscall_name() is "read", "futex"... or "syscall <nr>", from the table the
// trace reader names them with (greenscope/syscall_names.h, x86_64).
std::string syscall_name(long nr);

// syscall_restarts() is true only for calls known to restart under
// SA_RESTART; unknown calls count as not restarting (no signal is sent).
bool syscall_restarts(long nr);

}  // namespace gs::detail
