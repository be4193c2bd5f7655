// io_bench.cpp: what a read() of 64 bytes costs on an fd that is already
// readable, called as libc's read, as the runtime's interposed read() before
// patch_all() (pass-through), and as the interposed read() after patch_all()
// from inside a greenlet (the cooperative path). bench/io_compare.sh runs it
// and prints the ratios.
//
// One benchmark iteration is one read() of 64 bytes that returns 64. The fd
// is kept readable: it is filled with kBatch * 64 bytes, kBatch reads drain
// it, and the refill (a write of kBatch * 64 bytes through libc) happens
// between PauseTiming() and ResumeTiming(): only the reads are timed. The fds
// are blocking (the default), as the patched read's contract is about
// blocking fds.
//
// "libc's read" is glibc's own `read` symbol, looked up in libc.so.6 itself
// (dlopen("libc.so.6", RTLD_NOLOAD) + dlsym): in this program the name
// `read` resolves to the runtime's interposer, and dlsym(RTLD_NEXT, "read")
// from the executable would find that interposer too (libgreenscope_runtime
// comes before libc in the search order). It is checked to be the very
// function the runtime's interposer forwards to (gs::detail::sys::libc().read),
// so "pass-through / libc" is exactly the interposer's own overhead. glibc's
// read is a thin wrapper around the read syscall (with its cancellation-point
// check); a raw syscall(SYS_read) is measured too, as the floor below it.
//
// Benchmarks, for FD in socketpair (AF_UNIX SOCK_STREAM) and pipe:
//   BM_Read/FD_libc          glibc's read, called through its address
//   BM_Read/FD_syscall       syscall(SYS_read, ...), the floor (info)
//   BM_Read/FD_passthrough   ::read (the runtime's interposer), patch_all() not called
//   BM_Read/FD_patched       ::read after gs::patch_all(), inside gs::spawn(...).join()
//   BM_Read/FD_patched_calls (info) the system calls the patched path makes on
//                            that fd, made directly through libc: recv(MSG_DONTWAIT)
//                            for a socket, poll(0) + read for a pipe
//   BM_Read/pipe_preadv2_nowait (info) one preadv2(..., RWF_NOWAIT) through libc:
//                            a single-syscall "read if it would not block" that
//                            works on pipes on recent kernels (EAGAIN when empty)
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <greenscope/runtime.h>

#include "sys.h"  // private: the runtime's libc pointers, to check "libc's read"

namespace {

constexpr std::size_t kChunk = 64;
constexpr int kBatch = 1024;  // 64 KiB: fits a default pipe (64 KiB) and AF_UNIX socket buffer

using ReadFn = ssize_t (*)(int, void*, size_t);
using WriteFn = ssize_t (*)(int, const void*, size_t);
using RecvFn = ssize_t (*)(int, void*, size_t, int);
using PollFn = int (*)(pollfd*, nfds_t, int);
using Preadv2Fn = ssize_t (*)(int, const iovec*, int, off_t, int);

struct Libc {
  ReadFn read = nullptr;
  WriteFn write = nullptr;
  RecvFn recv = nullptr;
  PollFn poll = nullptr;
  Preadv2Fn preadv2 = nullptr;
};

[[noreturn]] void fatal(const std::string& msg) {
  std::fprintf(stderr, "gs_io_bench: %s\n", msg.c_str());
  std::exit(1);
}

// glibc's own definitions, looked up in libc.so.6 (see the file comment).
const Libc& libc() {
  static const Libc l = [] {
    void* h = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
    if (h == nullptr) fatal(std::string("dlopen(libc.so.6, RTLD_NOLOAD): ") + dlerror());
    Libc r;
    r.read = reinterpret_cast<ReadFn>(dlsym(h, "read"));
    r.write = reinterpret_cast<WriteFn>(dlsym(h, "write"));
    r.recv = reinterpret_cast<RecvFn>(dlsym(h, "recv"));
    r.poll = reinterpret_cast<PollFn>(dlsym(h, "poll"));
    r.preadv2 = reinterpret_cast<Preadv2Fn>(dlsym(h, "preadv2"));
    if (!r.read || !r.write || !r.recv || !r.poll || !r.preadv2) fatal("dlsym in libc.so.6 failed");
    return r;
  }();
  return l;
}

// check_symbols() makes sure the three ways really are three: libc's read is
// what the runtime forwards to, and the program's `read` is the runtime's.
void check_symbols() {
  const ReadFn program_read = &::read;
  if (reinterpret_cast<void*>(libc().read) != reinterpret_cast<void*>(gs::detail::sys::libc().read)) {
    fatal("glibc's read (dlsym in libc.so.6) is not the function the runtime forwards to");
  }
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(program_read), &info) == 0 || info.dli_fname == nullptr ||
      std::strstr(info.dli_fname, "greenscope_runtime") == nullptr) {
    fatal(std::string("the program's read() is not the runtime's interposer but comes from ") +
          (info.dli_fname ? info.dli_fname : "?"));
  }
}

enum class FdKind { Socketpair, Pipe };
enum class Way { Libc, Syscall, PassThrough, Patched, PatchedCalls, Nowait };

struct Fds {
  int r = -1, w = -1;
  explicit Fds(FdKind kind) {
    int fds[2];
    if (kind == FdKind::Socketpair) {
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) fatal("socketpair");
    } else {
      if (::pipe2(fds, O_CLOEXEC) != 0) fatal("pipe2");
    }
    r = fds[0];
    w = fds[1];
  }
  ~Fds() {
    ::close(r);
    ::close(w);
  }
  Fds(const Fds&) = delete;
  Fds& operator=(const Fds&) = delete;
};

// fill() writes n chunks through glibc's write (never the patched one).
void fill(const Fds& fds, int chunks) {
  static char data[kChunk * kBatch];
  std::size_t left = kChunk * static_cast<std::size_t>(chunks);
  const char* p = data;
  while (left > 0) {
    const ssize_t n = libc().write(fds.w, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      fatal(std::string("refill write: ") + std::strerror(errno));
    }
    left -= static_cast<std::size_t>(n);
    p += n;
  }
}

// read_loop() is the timed loop; `read_once` is one 64-byte read.
template <class ReadOnce>
void read_loop(benchmark::State& state, const Fds& fds, ReadOnce read_once) {
  char buf[kChunk];
  // One untimed read first: warms the path (the patched read learns whether
  // the fd is a socket on its first call).
  fill(fds, kBatch);
  if (read_once(buf) != static_cast<ssize_t>(kChunk)) {
    state.SkipWithError("warm-up read did not return 64 bytes");
    return;
  }
  int left = kBatch - 1;
  for (auto _ : state) {
    if (left == 0) [[unlikely]] {
      state.PauseTiming();
      fill(fds, kBatch);
      left = kBatch;
      state.ResumeTiming();
    }
    const ssize_t n = read_once(buf);
    if (n != static_cast<ssize_t>(kChunk)) [[unlikely]] {
      state.SkipWithError(("read returned " + std::to_string(n) + ": " + std::strerror(errno)).c_str());
      break;
    }
    benchmark::DoNotOptimize(buf);
    --left;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Read(benchmark::State& state, FdKind kind, Way way) {
  Fds fds(kind);
  const int fd = fds.r;
  switch (way) {
    case Way::Libc: {
      const ReadFn f = libc().read;
      read_loop(state, fds, [f, fd](char* b) { return f(fd, b, kChunk); });
      break;
    }
    case Way::Syscall:
      read_loop(state, fds, [fd](char* b) { return static_cast<ssize_t>(::syscall(SYS_read, fd, b, kChunk)); });
      break;
    case Way::PassThrough:
      if (gs::patched()) fatal("pass-through measured with patch_all() in effect");
      read_loop(state, fds, [fd](char* b) { return ::read(fd, b, kChunk); });
      break;
    case Way::Patched: {
      gs::patch_all();
      gs::spawn([&] { read_loop(state, fds, [fd](char* b) { return ::read(fd, b, kChunk); }); }).join();
      gs::unpatch_all();
      break;
    }
    case Way::PatchedCalls:
      if (kind == FdKind::Socketpair) {
        const RecvFn f = libc().recv;
        read_loop(state, fds, [f, fd](char* b) { return f(fd, b, kChunk, MSG_DONTWAIT); });
      } else {
        const PollFn p = libc().poll;
        const ReadFn f = libc().read;
        read_loop(state, fds, [p, f, fd](char* b) {
          pollfd pfd{fd, POLLIN, 0};
          if (p(&pfd, 1, 0) != 1) return static_cast<ssize_t>(-1);
          return f(fd, b, kChunk);
        });
      }
      break;
    case Way::Nowait: {
      const Preadv2Fn f = libc().preadv2;
      read_loop(state, fds, [f, fd](char* b) {
        iovec iov{b, kChunk};
        return f(fd, &iov, 1, -1, RWF_NOWAIT);
      });
      break;
    }
  }
}

BENCHMARK_CAPTURE(BM_Read, socketpair_libc, FdKind::Socketpair, Way::Libc);
BENCHMARK_CAPTURE(BM_Read, socketpair_syscall, FdKind::Socketpair, Way::Syscall);
BENCHMARK_CAPTURE(BM_Read, socketpair_passthrough, FdKind::Socketpair, Way::PassThrough);
BENCHMARK_CAPTURE(BM_Read, socketpair_patched, FdKind::Socketpair, Way::Patched);
BENCHMARK_CAPTURE(BM_Read, socketpair_patched_calls, FdKind::Socketpair, Way::PatchedCalls);
BENCHMARK_CAPTURE(BM_Read, pipe_libc, FdKind::Pipe, Way::Libc);
BENCHMARK_CAPTURE(BM_Read, pipe_syscall, FdKind::Pipe, Way::Syscall);
BENCHMARK_CAPTURE(BM_Read, pipe_passthrough, FdKind::Pipe, Way::PassThrough);
BENCHMARK_CAPTURE(BM_Read, pipe_patched, FdKind::Pipe, Way::Patched);
BENCHMARK_CAPTURE(BM_Read, pipe_patched_calls, FdKind::Pipe, Way::PatchedCalls);
BENCHMARK_CAPTURE(BM_Read, pipe_preadv2_nowait, FdKind::Pipe, Way::Nowait);

}  // namespace

int main(int argc, char** argv) {
  check_symbols();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
