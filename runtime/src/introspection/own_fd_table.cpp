// own_fd_table.cpp: greenscope's threads leaving the program's fd table
// (own_fd_table.h says why).
#include "greenscope/detail/own_fd_table.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <vector>

#include "greenscope/detail/env.h"
#include "greenscope/symbols.h"

namespace gs::detail {
namespace {

thread_local bool tls_left = false;
thread_local int tls_program = -1;  // a pidfd of the process, in this thread's own table
thread_local bool tls_stderr_held = false;  // its own fd 2 is /dev/null, for ProgramStderr to replace

// Raw system calls: the runtime's close() interposer would take our numbers
// for the program's, and glibc 2.36's wrappers need a newer kernel header set.
int raw_close(int fd) { return static_cast<int>(::syscall(SYS_close, fd)); }
int pidfd_of_process() { return static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0)); }
int fetch_fd(int pidfd, int fd) { return static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, fd, 0)); }

// can_fetch_program_fds() is whether pidfd_getfd() works here: it is how a
// thread that left still reaches the program's stderr. EBADF means it works
// (the program has no fd 2 now).
[[maybe_unused]] bool can_fetch_program_fds() {
  const int pidfd = pidfd_of_process();
  if (pidfd < 0) return false;
  const int fd = fetch_fd(pidfd, 2);
  const bool works = fd >= 0 || errno == EBADF;
  if (fd >= 0) raw_close(fd);
  raw_close(pidfd);
  return works;
}

// close_all_but() closes every fd of this thread's table but `keep`.
[[maybe_unused]] bool close_all_but(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned from = 0;
  for (const int k : keep) {
    if (k < 0 || static_cast<unsigned>(k) < from) continue;
    if (static_cast<unsigned>(k) > from && ::syscall(SYS_close_range, from, static_cast<unsigned>(k) - 1, 0) != 0)
      return false;
    from = static_cast<unsigned>(k) + 1;
  }
  return ::syscall(SYS_close_range, from, UINT_MAX, 0) == 0;
}

// open_null() is /dev/null, read-write.
int open_null() { return static_cast<int>(::syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDWR | O_CLOEXEC)); }

// hold_standard_fds() points 0, 1 and 2 of the thread's own table, unless
// kept, at /dev/null: the thread's own files (a symbolizer's cached module,
// libunwind's) then never take number 2, where ProgramStderr puts the
// program's stderr for a moment, and output not meant for the program's
// stderr goes nowhere.
[[maybe_unused]] void hold_standard_fds(std::initializer_list<int> keep) {
  const int null = open_null();
  if (null < 0) return;
  for (int fd = 0; fd <= 2; ++fd) {
    if (std::find(keep.begin(), keep.end(), fd) != keep.end()) continue;
    const bool held = fd == null || ::syscall(SYS_dup3, null, fd, O_CLOEXEC) == fd;
    if (fd == 2) tls_stderr_held = held;
  }
  if (null > 2) raw_close(null);
}

// can_leave() is whether a thread may leave: asked to, and able to reach
// the program's stderr from outside.
[[maybe_unused]] bool can_leave() {
  if (env_flag("GREENSCOPE_SHARE_FDS", "greenscope's threads keep their own fd tables").value_or(false)) return false;
  return can_fetch_program_fds();
}

}  // namespace

bool leave_program_fds(std::initializer_list<int> keep, bool creator_left) {
#if defined(GS_SANITIZE_THREAD)
  (void)keep;
  (void)creator_left;
  return false;  // TSan keeps one fd table for the process: our numbers would alias the program's
#else
  // Staying put in a table a creator left in is staying out of the program's.
  if (!can_leave() || ::unshare(CLONE_FILES) != 0) return tls_left = creator_left;
  tls_left = true;
  if (!close_all_but(keep)) {
    // close_range() is Linux 5.9: without it, close what /proc lists.
    if (DIR* d = ::opendir("/proc/thread-self/fd")) {
      std::vector<int> open;
      while (const dirent* e = ::readdir(d)) {
        if (e->d_name[0] != '.') open.push_back(std::atoi(e->d_name));
      }
      const int own = ::dirfd(d);
      for (const int fd : open) {
        if (fd != own && std::find(keep.begin(), keep.end(), fd) == keep.end()) raw_close(fd);
      }
      ::closedir(d);
    }
  }
  hold_standard_fds(keep);
  tls_program = pidfd_of_process();
  return true;
#endif
}

bool left_program_fds() { return tls_left; }

std::shared_ptr<symbols::Symbolizer> symbolizer_for_this_thread() {
  return tls_left ? symbols::for_this_thread() : symbols::for_this_process();
}

ProgramStderr::ProgramStderr() {
  if (!tls_left || tls_program < 0 || !tls_stderr_held) return;
  const int fd = fetch_fd(tls_program, 2);
  if (fd < 0) return;  // the program has no stderr now: neither have we
  const bool placed = ::syscall(SYS_dup3, fd, 2, O_CLOEXEC) == 2;  // fd > 2: 0-2 are held
  raw_close(fd);
  borrowed_ = placed;
  if (borrowed_) tls_stderr_held = false;  // a ProgramStderr inside this one leaves it be
}

ProgramStderr::~ProgramStderr() {
  if (!borrowed_) return;
  const int null = open_null();  // 2 goes back to /dev/null, not free for the thread's next file
  if (null < 0 || ::syscall(SYS_dup3, null, 2, O_CLOEXEC) != 2) raw_close(2);
  if (null >= 0) raw_close(null);
  tls_stderr_held = null >= 0;
}

}  // namespace gs::detail
