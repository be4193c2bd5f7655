// own_fd_table.h: a thread of greenscope's own (the stall monitor's, its
// reporter's and dumper's, the tracer's writer and symbolizer) can stop
// sharing the program's fd table.
//
// Why: Linux looks an fd up without touching the file's reference count only
// while no other thread shares the table (fdget()'s light path). Once one
// does, every recv, send and epoll_wait of a single-threaded server takes and
// drops a reference: perf put the kernel's fput at 0.40-0.61 % of the echo
// server hub's samples with the monitor's thread, 0.03-0.06 % without
// (docs/benchmarks.md). A thread that leaves gets a copy of the table and
// closes that copy at once, so that the program's close() still closes.
#pragma once

#include <initializer_list>
#include <memory>

namespace gs::symbols {
class Symbolizer;
}

namespace gs::detail {

// leave_program_fds() gives the calling thread its own fd table, keeping
// only the fds in `keep` (numbers it goes on using, such as the writer's
// trace file). Call first thing in the thread, before it opens anything. False
// (and nothing changed) when it would lose the program's stderr: the kernel
// lacks pidfd_getfd() (before 5.6), a seccomp filter or a sanitizer's fd
// bookkeeping is in the way, or GREENSCOPE_SHARE_FDS=1 asks to share.
// `creator_left`: the thread that started this one had left (so this one
// shares that thread's table, not the program's). If leaving fails then,
// the thread still counts as having left: it stays in its creator's table,
// closing nothing, and prints nowhere.
bool leave_program_fds(std::initializer_list<int> keep, bool creator_left = false);

// left_program_fds() is whether this thread has its own table: its fd
// numbers are not the program's, so its close() must not wake the program's
// waiters on the same number (patch.cpp's forget_fd()).
bool left_program_fds();

// symbolizer_for_this_thread() is the Symbolizer a thread may use where it
// is: the process's shared one (symbols::for_this_process()) on a thread in
// the program's fd table, one of its own (symbols::for_this_thread()) on a
// thread that left, since libdw's open files belong to one table.
std::shared_ptr<symbols::Symbolizer> symbolizer_for_this_thread();

// ProgramStderr makes fd 2 (and so stderr) the program's fd 2 of the moment
// while it lives, on a thread that left the table; on other threads it does
// nothing. The copy is closed again at the end: a program that closes its
// stderr (a daemon) must not find it held open by us.
class ProgramStderr {
 public:
  ProgramStderr();
  ~ProgramStderr();
  ProgramStderr(const ProgramStderr&) = delete;
  ProgramStderr& operator=(const ProgramStderr&) = delete;

 private:
  bool borrowed_ = false;
};

}  // namespace gs::detail
