#include "syscalls.h"

#include <sys/syscall.h>

namespace gs::detail {
namespace {

struct Known {
  long nr;
  const char* name;
  bool restarts;
};

// The calls a stalled hub thread is most often found in. `restarts` follows
// signal(7) ("Interruption of system calls and library functions by signal
// handlers"); sockets with SO_RCVTIMEO/SO_SNDTIMEO are the exception we
// cannot see from here, a rare one.
constexpr Known kKnown[] = {
    {SYS_read, "read", true},           {SYS_write, "write", true},
    {SYS_readv, "readv", true},         {SYS_writev, "writev", true},
    {SYS_pread64, "pread64", true},     {SYS_pwrite64, "pwrite64", true},
    {SYS_preadv, "preadv", true},       {SYS_pwritev, "pwritev", true},
    {SYS_preadv2, "preadv2", true},     {SYS_pwritev2, "pwritev2", true},
    {SYS_futex, "futex", true},         {SYS_wait4, "wait4", true},
    {SYS_waitid, "waitid", true},       {SYS_flock, "flock", true},
    {SYS_fcntl, "fcntl", true},         {SYS_ioctl, "ioctl", true},
    {SYS_open, "open", true},           {SYS_openat, "openat", true},
    {SYS_recvfrom, "recvfrom", true},   {SYS_recvmsg, "recvmsg", true},
    {SYS_sendto, "sendto", true},       {SYS_sendmsg, "sendmsg", true},
    {SYS_accept, "accept", true},       {SYS_accept4, "accept4", true},
    {SYS_sendfile, "sendfile", true},   {SYS_splice, "splice", true},
    {SYS_fsync, "fsync", true},         {SYS_fdatasync, "fdatasync", true},
    {SYS_getrandom, "getrandom", true}, {SYS_msync, "msync", true},
    {SYS_connect, "connect", false},    {SYS_nanosleep, "nanosleep", false},
    {SYS_clock_nanosleep, "clock_nanosleep", false},
    {SYS_poll, "poll", false},          {SYS_ppoll, "ppoll", false},
    {SYS_select, "select", false},      {SYS_pselect6, "pselect6", false},
    {SYS_epoll_wait, "epoll_wait", false}, {SYS_epoll_pwait, "epoll_pwait", false},
    {SYS_rt_sigtimedwait, "rt_sigtimedwait", false}, {SYS_rt_sigsuspend, "rt_sigsuspend", false},
    {SYS_pause, "pause", false},        {SYS_semop, "semop", false},
    {SYS_semtimedop, "semtimedop", false}, {SYS_msgrcv, "msgrcv", false},
    {SYS_msgsnd, "msgsnd", false},      {SYS_io_getevents, "io_getevents", false},
    {SYS_sync, "sync", true},           {SYS_syncfs, "syncfs", true},
};

const Known* find(long nr) {
  for (const Known& k : kKnown)
    if (k.nr == nr) return &k;
  return nullptr;
}

}  // namespace

std::string syscall_name(long nr) {
  if (const Known* k = find(nr)) return k->name;
  return "syscall " + std::to_string(nr);
}

bool syscall_restarts(long nr) {
  const Known* k = find(nr);
  return k != nullptr && k->restarts;
}

}  // namespace gs::detail
