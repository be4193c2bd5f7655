// env.cpp: reading GREENSCOPE_* variables (greenscope/detail/env.h).
#include "greenscope/detail/env.h"

#include <signal.h>
#include <string.h>
#include <strings.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string_view>

#include "greenscope/safe_text.h"  // header-only, shared with the trace reader

namespace gs::detail {

namespace {

std::mutex& warned_mutex() {
  static auto* m = new std::mutex();  // never destroyed: read at exit too
  return *m;
}

std::set<std::string>& warned() {
  static auto* names = new std::set<std::string>();
  return *names;
}

// parse_signal() is the signal "SIGUSR1", "USR1" or "10" names; 0 if none.
int parse_signal(const std::string& text) {
  if (text.find_first_not_of("0123456789") == std::string::npos) {
    const long n = std::strtol(text.c_str(), nullptr, 10);
    return n > 0 && n < NSIG ? static_cast<int>(n) : 0;
  }
  const std::string name = text.rfind("SIG", 0) == 0 ? text.substr(3) : text;
  for (int sig = 1; sig < NSIG; ++sig) {
    const char* abbrev = sigabbrev_np(sig);
    if (abbrev != nullptr && name == abbrev) return sig;
  }
  return 0;
}

bool is_any_of(const std::string& v, std::initializer_list<const char*> words) {
  for (const char* w : words)
    if (::strcasecmp(v.c_str(), w) == 0) return true;
  return false;
}

}  // namespace

std::string env_value(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

void env_warn_once(const char* name, const std::string& text) {
  {
    std::lock_guard<std::mutex> lock(warned_mutex());
    if (!warned().insert(name).second) return;
  }
  std::fprintf(stderr, "greenscope: %s\n", text.c_str());
}

// shown_value() is a value as the warning quotes it: at most 80 bytes,
// control characters (a terminal's escapes) and bad bytes as \xNN, as the
// runtime shows names (shown.h).
std::string shown_value(const std::string& v) {
  if (v.size() <= 80) return traceio::terminal_text(v);
  return traceio::terminal_text(std::string_view(v).substr(0, 80)) + "...";
}

std::optional<long> env_number(const char* name, long min, long max, const char* wanted, const char* instead) {
  const std::string v = env_value(name);
  if (v.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const long n = std::strtol(v.c_str(), &end, 10);
  if (end != v.c_str() && *end == '\0' && errno == 0 && n >= min && n <= max) return n;
  env_warn_once(name, std::string(name) + "='" + shown_value(v) + "' is not " + wanted + "; " + instead);
  return std::nullopt;
}

std::optional<bool> env_flag(const char* name, const char* instead) {
  const std::string v = env_value(name);
  if (v.empty()) return std::nullopt;
  if (is_any_of(v, {"1", "true", "yes", "on"})) return true;
  if (is_any_of(v, {"0", "false", "no", "off"})) return false;
  env_warn_once(name, std::string(name) + "='" + shown_value(v) + "' is not 1 or 0 (true/false, yes/no, on/off); " + instead);
  return std::nullopt;
}

int env_signal(const char* name, const char* instead) {
  const std::string v = env_value(name);
  if (v.empty()) return 0;
  const int sig = parse_signal(v);
  if (sig > 0 && sig != SIGKILL && sig != SIGSTOP) return sig;
  env_warn_once(name, std::string(name) + "='" + shown_value(v) +
                          "' is not a signal that can be caught (a name like SIGUSR1, or a number); " + instead);
  return -1;
}

}  // namespace gs::detail
