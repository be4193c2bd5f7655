// env.h: how every GREENSCOPE_* variable is read (the runtime's and the
// tracer's). One parsing for all of them, and one clear line on stderr for
// a value that cannot be used, once per variable per process, naming the
// variable, the value, what it wants and what happens instead.
#pragma once

#include <optional>
#include <string>

namespace gs::detail {

// env_value() is the variable's value; empty when unset or set to "".
std::string env_value(const char* name);

// env_number() reads a whole number from `min` to `max`. Unset or empty:
// nullopt, silently. Anything else that is not such a number: nullopt and
// one line, "greenscope: NAME='VALUE' is not WANTED; INSTEAD".
std::optional<long> env_number(const char* name, long min, long max, const char* wanted, const char* instead);

// env_flag() reads a switch: 1, true, yes, on, or 0, false, no, off (any
// case). Unset or empty: nullopt; anything else: nullopt and one line.
std::optional<bool> env_flag(const char* name, const char* instead);

// env_signal() reads a signal that can be caught: a name ("SIGUSR1",
// "USR1") or a number. Unset or empty: 0. Anything else: -1 and one line.
int env_signal(const char* name, const char* instead);

// shown_value() is `value` fit to quote in a line on a terminal: control
// characters and bytes that are not UTF-8 as \xNN, at most 80 bytes.
std::string shown_value(const std::string& value);

// env_warn_once() prints "greenscope: TEXT" for variable `name`, unless a
// line about that variable was printed already (several parts of the
// program may read one variable: GREENSCOPE_STALL_MS's warning used to
// come twice).
void env_warn_once(const char* name, const std::string& text);

}  // namespace gs::detail
