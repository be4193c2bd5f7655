// trace_env.h: the contract between `greenscope record` and the tracer it
// starts through the environment: the variables, how signals are named, and
// how trace files are named (the CLI must find what the tracer wrote).
#pragma once

#include <signal.h>
#include <string.h>

#include <cstdlib>
#include <string>

namespace gs::trace_env {

inline constexpr const char* kTrace = "GREENSCOPE_TRACE";                 // path: trace from start-up
inline constexpr const char* kSignal = "GREENSCOPE_TRACE_SIGNAL";         // toggles tracing
inline constexpr const char* kFlightMib = "GREENSCOPE_TRACE_FLIGHT_MIB";  // flight recorder size
inline constexpr const char* kDumpSignal = "GREENSCOPE_TRACE_DUMP_SIGNAL";
inline constexpr const char* kQuiet = "GREENSCOPE_TRACE_QUIET";

// parse_signal() accepts "SIGUSR2", "USR2" or "12"; 0 if it names no signal.
inline int parse_signal(const std::string& text) {
  if (text.empty()) return 0;
  char* end = nullptr;
  const long n = std::strtol(text.c_str(), &end, 10);
  if (*end == '\0') return n > 0 && n < NSIG ? static_cast<int>(n) : 0;
  const std::string name = text.rfind("SIG", 0) == 0 ? text.substr(3) : text;
  for (int sig = 1; sig < NSIG; ++sig) {
    const char* abbrev = sigabbrev_np(sig);
    if (abbrev != nullptr && name == abbrev) return sig;
  }
  return 0;
}

// kDefault is the path when none is given; "%p" becomes the process id.
inline constexpr const char* kDefault = "greenscope-%p.gstrace";

// expand_pid() replaces every "%p" in `path` with `pid`.
inline std::string expand_pid(std::string path, long pid) {
  const std::string text = std::to_string(pid);
  for (std::size_t at = path.find("%p"); at != std::string::npos; at = path.find("%p", at + text.size()))
    path.replace(at, 2, text);
  return path;
}

// with_suffix() is `path` with `suffix` before its extension, if it has one.
inline std::string with_suffix(const std::string& path, const std::string& suffix) {
  const std::size_t slash = path.rfind('/');
  const std::size_t dot = path.rfind('.');
  const bool has_extension = dot != std::string::npos && (slash == std::string::npos || dot > slash + 1);
  return has_extension ? path.substr(0, dot) + suffix + path.substr(dot) : path + suffix;
}

// numbered() is the n-th file of one run (toggled sessions, flight-recorder
// dumps): path itself for n <= 1, then path-2.gstrace, path-3.gstrace...
inline std::string numbered(const std::string& path, unsigned n) {
  return n <= 1 ? path : with_suffix(path, "-" + std::to_string(n));
}

// per_process() is the path for another process than the one tracing to
// `path` (a child that inherits GREENSCOPE_TRACE): "-%p" before the
// extension, which expand_pid() makes that process's own, path-PID.
inline std::string per_process(const std::string& path) {
  return path.find("%p") != std::string::npos ? path : with_suffix(path, "-%p");
}

}  // namespace gs::trace_env
