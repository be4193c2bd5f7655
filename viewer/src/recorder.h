// recorder.h: Recorder runs `greenscope record -o TMP -- PROGRAM ARGS` for
// `greenscope-viewer -- PROGRAM ARGS`, whose trace the viewer then follows.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace gs::viewer {

class Recorder {
 public:
  Recorder() = default;
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;
  // ~Recorder() stops a recording still running (SIGTERM, which `greenscope
  // record` forwards to the program) and reaps it.
  ~Recorder();

  // start() runs the recording; `trace` is the file it writes (in a new
  // temporary directory). False with `error` if it could not be started.
  bool start(const std::vector<std::string>& program, std::string* trace, std::string* error);
  // poll() reaps the recording once it has exited (never blocks).
  void poll();
  bool active() const { return pid_ > 0; }
  // status(): "recording PROGRAM (pid N)", "PROGRAM exited 0", "" if none.
  const std::string& status() const { return status_; }

 private:
  pid_t pid_ = -1;
  std::string program_, status_;
};

// find_greenscope() is the greenscope CLI beside this executable (or in the
// build tree's tracer/cli), else "greenscope" for PATH.
std::string find_greenscope();

}  // namespace gs::viewer
