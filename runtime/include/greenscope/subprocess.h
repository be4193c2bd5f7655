// subprocess.h: child processes whose pipes and exit are waited for
// cooperatively (gevent.subprocess).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "greenscope/types.h"

namespace gs {

// PipeEnd is the parent's end of a pipe to a child: non-blocking, and every
// read or write that would block waits cooperatively.
class PipeEnd {
 public:
  PipeEnd() = default;
  explicit PipeEnd(int fd) : fd_(fd) {}
  ~PipeEnd();
  PipeEnd(PipeEnd&& other) noexcept;
  PipeEnd& operator=(PipeEnd&& other) noexcept;
  PipeEnd(const PipeEnd&) = delete;
  PipeEnd& operator=(const PipeEnd&) = delete;

  // read() returns up to `max` bytes; empty at end of file. max 0 (or past
  // PTRDIFF_MAX: a negative number) is a UsageError.
  std::string read(std::size_t max = 65536);
  // read_all() reads until end of file.
  std::string read_all();
  // write_all() writes every byte (IoError EPIPE if the child closed its end).
  void write_all(std::string_view data);
  void close();
  int fd() const { return fd_; }
  bool is_open() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Subprocess runs a program as a child process.
class Subprocess {
 public:
  // Stdio says what a child's stdin/stdout/stderr is connected to.
  enum class Stdio { Inherit, Pipe, Null, Stdout /* stderr only: same as stdout */ };
  struct Options {
    Stdio in = Stdio::Inherit;
    Stdio out = Stdio::Inherit;
    Stdio err = Stdio::Inherit;
    std::string cwd;               // empty: the parent's
    std::vector<std::string> env;  // "NAME=value" entries; empty: the parent's environment
  };
  struct Result {
    std::string out;
    std::string err;
    int returncode = 0;  // exit status, or -signal when a signal killed it
  };

  // Subprocess() starts argv[0] (searched in PATH) with argv. Throws IoError
  // when it cannot be started ("No such file or directory" for a missing
  // program), and UsageError for an empty argv, a NUL byte in an argument,
  // an env entry or cwd (exec would cut it short), or an env entry that is
  // not NAME=value.
  explicit Subprocess(const std::vector<std::string>& argv);
  Subprocess(const std::vector<std::string>& argv, Options options);
  // ~Subprocess() closes the pipes; a child still running is left running
  // and reaped when it exits.
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  PipeEnd& stdin_pipe() { return in_; }
  PipeEnd& stdout_pipe() { return out_; }
  PipeEnd& stderr_pipe() { return err_; }

  // wait() waits cooperatively for the child to exit and returns its
  // returncode. Throws TimeoutError if `timeout` passes first (at once for
  // 0 or less while it runs; NaN is a UsageError).
  int wait(Duration timeout = kForever);
  // poll() is the returncode if the child has exited, else nullopt.
  std::optional<int> poll() const;
  void send_signal(int signo);
  void terminate();  // SIGTERM
  void kill();       // SIGKILL
  // communicate() writes `input` to stdin and closes it, reads stdout and
  // stderr to their ends (whichever are pipes) concurrently, and waits for
  // the exit. Throws TimeoutError if `timeout` passes first.
  Result communicate(std::string_view input = {}, Duration timeout = kForever);

  struct Exit;

 private:
  pid_t pid_ = -1;
  PipeEnd in_, out_, err_;
  std::shared_ptr<Exit> exit_;
};

}  // namespace gs
