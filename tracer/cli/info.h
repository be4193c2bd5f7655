// info.h: the trace overview that `info` prints and `record` summarizes.
#pragma once

#include <cstdio>

#include "greenscope/traceio.h"

namespace gs::cli {

// print_info() writes the full overview of `info` to stdout.
void print_info(const traceio::Trace& trace);
// print_summary() writes the 3-line summary `record` ends with.
void print_summary(const traceio::Trace& trace, std::FILE* out);

}  // namespace gs::cli
