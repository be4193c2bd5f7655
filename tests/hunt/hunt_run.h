// hunt_run.h: running hunt_planted as a user would (a child process with
// GREENSCOPE_TRACE in its environment), and loading the machine with busy
// processes for the loaded variants.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace hunt {

struct RunResult {
  int code = -1;  // exit status, 128+N if signal N killed it
  std::string out, err;
};

// run() runs argv (argv[0] a path) with `env` added to this process's
// environment, GREENSCOPE_* variables removed first; it captures stdout and
// stderr.
RunResult run(const std::vector<std::string>& argv, const std::vector<std::pair<std::string, std::string>>& env);

// Hogs is `n` processes that spin on a CPU each until destroyed: a machine
// as busy as a parallel build makes it.
class Hogs {
 public:
  explicit Hogs(unsigned n);
  ~Hogs();
  Hogs(const Hogs&) = delete;
  Hogs& operator=(const Hogs&) = delete;

 private:
  std::vector<pid_t> pids_;
};

// hog_count() is how many hogs the loaded variants start: one per core, as
// `make -jN` on N cores keeps every core busy.
unsigned hog_count();

// make_temp_dir() creates a fresh directory under $TMPDIR (or /tmp).
std::string make_temp_dir();

}  // namespace hunt
