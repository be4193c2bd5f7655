// nocancel.h: the runtime's non-blocking socket calls, entering the kernel
// without glibc's cancellation points.
//
// glibc's recv, send, accept4... are cancellation points: once a process
// has a second thread (the stall monitor, the tracer's writer, any thread
// pool), each call brackets its system call with
// __pthread_enable_asynccancel and __pthread_disable_asynccancel, two atomic
// operations and about 60 instructions, on every read and write of every
// greenlet. The calls here never block (MSG_DONTWAIT, or a non-blocking
// listening socket), so cancellation has nothing to interrupt in them, and
// the runtime never cancels a hub's thread (pthread_cancel would unwind
// through greenlet stacks). So they make the system call themselves.
//
// Sanitizer builds keep libc's entry points: ASan's and TSan's interceptors
// check the buffers and order the threads that pass data through a socket.
// Calls that may block (a thread without a hub, a pass-through under
// patch_all()) stay on libc's, so that a program's own pthread_cancel()
// still interrupts them.
#pragma once

#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <cerrno>

#include "sys.h"

#if defined(__x86_64__) && !defined(GS_SANITIZE_ADDRESS) && !defined(GS_SANITIZE_THREAD)
#define GS_RAW_SOCKET_CALLS 1
#endif

namespace gs::detail::sys::nocancel {

#if defined(GS_RAW_SOCKET_CALLS)

// syscall6() is the x86-64 system call instruction with up to six
// arguments: the kernel's result, or -errno.
inline long syscall6(long nr, long a, long b, long c, long d = 0, long e = 0, long f = 0) {
  register long r10 asm("r10") = d;
  register long r8 asm("r8") = e;
  register long r9 asm("r9") = f;
  long result;
  asm volatile("syscall"
               : "=a"(result)
               : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory");
  return result;
}

// returned() is libc's convention: -1 with errno set, else the result.
inline long returned(long result) {
  if (result < 0 && result > -4096) [[unlikely]] {
    errno = static_cast<int>(-result);
    return -1;
  }
  return result;
}

inline long arg(const void* p) { return reinterpret_cast<long>(p); }

inline ssize_t recv(int fd, void* buf, size_t n, int flags) {
  return returned(syscall6(SYS_recvfrom, fd, arg(buf), static_cast<long>(n), flags));
}
inline ssize_t recvfrom(int fd, void* buf, size_t n, int flags, sockaddr* from, socklen_t* len) {
  return returned(syscall6(SYS_recvfrom, fd, arg(buf), static_cast<long>(n), flags, arg(from), arg(len)));
}
inline ssize_t send(int fd, const void* buf, size_t n, int flags) {
  return returned(syscall6(SYS_sendto, fd, arg(buf), static_cast<long>(n), flags));
}
inline ssize_t sendto(int fd, const void* buf, size_t n, int flags, const sockaddr* to, socklen_t len) {
  return returned(syscall6(SYS_sendto, fd, arg(buf), static_cast<long>(n), flags, arg(to), len));
}
inline int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  return static_cast<int>(returned(syscall6(SYS_accept4, fd, arg(addr), arg(len), flags)));
}

#else

inline ssize_t recv(int fd, void* buf, size_t n, int flags) { return libc().recv(fd, buf, n, flags); }
inline ssize_t recvfrom(int fd, void* buf, size_t n, int flags, sockaddr* from, socklen_t* len) {
  return libc().recvfrom(fd, buf, n, flags, from, len);
}
inline ssize_t send(int fd, const void* buf, size_t n, int flags) { return libc().send(fd, buf, n, flags); }
inline ssize_t sendto(int fd, const void* buf, size_t n, int flags, const sockaddr* to, socklen_t len) {
  return libc().sendto(fd, buf, n, flags, to, len);
}
inline int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) { return libc().accept4(fd, addr, len, flags); }

#endif

}  // namespace gs::detail::sys::nocancel
