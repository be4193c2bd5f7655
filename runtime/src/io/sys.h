// sys.h: libc's own entry points for the calls patch_all() interposes.
// The runtime defines read, write, poll... itself (patch.cpp), and links with
// -Bsymbolic-functions, so its internal calls must go through these pointers
// to reach libc rather than its own interposers.
#pragma once

#include <netdb.h>
#include <poll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

namespace gs::detail::sys {

struct Libc {
  ssize_t (*read)(int, void*, size_t);
  ssize_t (*write)(int, const void*, size_t);
  ssize_t (*readv)(int, const struct iovec*, int);
  ssize_t (*writev)(int, const struct iovec*, int);
  ssize_t (*recv)(int, void*, size_t, int);
  ssize_t (*recvfrom)(int, void*, size_t, int, struct sockaddr*, socklen_t*);
  ssize_t (*recvmsg)(int, struct msghdr*, int);
  ssize_t (*send)(int, const void*, size_t, int);
  ssize_t (*sendto)(int, const void*, size_t, int, const struct sockaddr*, socklen_t);
  ssize_t (*sendmsg)(int, const struct msghdr*, int);
  int (*accept)(int, struct sockaddr*, socklen_t*);
  int (*accept4)(int, struct sockaddr*, socklen_t*, int);
  int (*connect)(int, const struct sockaddr*, socklen_t);
  int (*poll)(struct pollfd*, nfds_t, int);
  int (*select)(int, fd_set*, fd_set*, fd_set*, struct timeval*);
  unsigned (*sleep)(unsigned);
  int (*usleep)(useconds_t);
  int (*nanosleep)(const struct timespec*, struct timespec*);
  int (*getaddrinfo)(const char*, const char*, const struct addrinfo*, struct addrinfo**);
  int (*close)(int);
  int (*dup2)(int, int);
  int (*dup3)(int, int, int);
  // Passed through unchanged, but timed (blocking-call detection).
  int (*fsync)(int);
  int (*fdatasync)(int);
  int (*clock_nanosleep)(clockid_t, int, const struct timespec*, struct timespec*);
  struct hostent* (*gethostbyname)(const char*);
  int (*gethostbyname_r)(const char*, struct hostent*, char*, size_t, struct hostent**, int*);
  int (*getnameinfo)(const struct sockaddr*, socklen_t, char*, socklen_t, char*, socklen_t, int);
};

// g_libc is filled by resolve() before main (a constructor) or at the first
// interposed call made earlier; read it through libc().
extern Libc g_libc;
void resolve();
inline const Libc& libc() {
  if (g_libc.close == nullptr) [[unlikely]] resolve();
  return g_libc;
}

}  // namespace gs::detail::sys
