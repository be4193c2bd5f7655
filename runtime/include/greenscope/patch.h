// patch.h: gs::patch_all(), gevent's monkey.patch_all() for C and C++ code.
#pragma once

namespace gs {

// patch_all() makes blocking libc calls cooperative when a greenlet makes
// them: read, write, readv, writev, recv, recvfrom, recvmsg, send, sendto,
// sendmsg, accept, accept4, connect, poll, select, sleep, usleep, nanosleep,
// and getaddrinfo (run on the hub's ThreadPool). A call that would block
// registers an io watcher (or a timer) and switches to the hub instead, so
// only the calling greenlet waits.
//
// The runtime library defines those symbols itself, so they resolve ahead of
// libc's in any program linked with it; LD_PRELOAD=libgreenscope_runtime.so
// does the same for a program whose link order puts libc first. Programs
// that cannot call patch_all() set GREENSCOPE_PATCH_ALL=1 instead.
//
// The caller still sees the blocking call's contract: an fd it set
// O_NONBLOCK itself returns EAGAIN; SO_RCVTIMEO/SO_SNDTIMEO end the wait with
// EAGAIN (EINPROGRESS for connect); partial reads and writes, EINTR and errno
// are kept; close() of an fd another greenlet waits on wakes it with EBADF.
// Calls made before patch_all(), on a thread without a hub, or by the hub
// itself (its callbacks) go to libc unchanged. Idempotent.
void patch_all();

// patched() is true once patch_all() ran.
bool patched();

// unpatch_all() sends every call straight to libc again (for tests and
// benchmarks that compare both in one process).
void unpatch_all();

}  // namespace gs
