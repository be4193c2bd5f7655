#include "syscalls.h"

#include <sys/syscall.h>

#include "greenscope/syscall_names.h"

namespace gs::detail {
namespace {

struct Known {
  long nr;
  bool restarts;
};

// The calls a stalled hub thread is most often found in (their names come
// from syscall_names.h). `restarts` follows signal(7) ("Interruption of
// system calls and library functions by signal handlers"); sockets with
// SO_RCVTIMEO/SO_SNDTIMEO are the exception we cannot see from here, a
// rare one.
constexpr Known kKnown[] = {
    {SYS_read, true}, {SYS_write, true}, {SYS_readv, true}, {SYS_writev, true}, {SYS_pread64, true},
    {SYS_pwrite64, true}, {SYS_preadv, true}, {SYS_pwritev, true}, {SYS_preadv2, true},
    {SYS_pwritev2, true}, {SYS_futex, true}, {SYS_wait4, true}, {SYS_waitid, true},
    {SYS_flock, true}, {SYS_fcntl, true}, {SYS_ioctl, true}, {SYS_open, true}, {SYS_openat, true},
    {SYS_recvfrom, true}, {SYS_recvmsg, true}, {SYS_sendto, true}, {SYS_sendmsg, true},
    {SYS_accept, true}, {SYS_accept4, true}, {SYS_sendfile, true}, {SYS_splice, true},
    {SYS_fsync, true}, {SYS_fdatasync, true}, {SYS_getrandom, true}, {SYS_msync, true},
    {SYS_connect, false}, {SYS_nanosleep, false}, {SYS_clock_nanosleep, false}, {SYS_poll, false},
    {SYS_ppoll, false}, {SYS_select, false}, {SYS_pselect6, false}, {SYS_epoll_wait, false},
    {SYS_epoll_pwait, false}, {SYS_rt_sigtimedwait, false}, {SYS_rt_sigsuspend, false},
    {SYS_pause, false}, {SYS_semop, false}, {SYS_semtimedop, false}, {SYS_msgrcv, false},
    {SYS_msgsnd, false}, {SYS_io_getevents, false}, {SYS_sync, true}, {SYS_syncfs, true},
};

const Known* find(long nr) {
  for (const Known& k : kKnown)
    if (k.nr == nr) return &k;
  return nullptr;
}

}  // namespace

std::string syscall_name(long nr) { return trace_format::syscall_name(nr); }

bool syscall_restarts(long nr) {
  const Known* k = find(nr);
  return k != nullptr && k->restarts;
}

}  // namespace gs::detail
