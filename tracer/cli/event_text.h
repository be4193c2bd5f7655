// event_text.h: one event in words, as `greenscope dump` prints it:
// "switch user-3#7 -> hub#2 (queue: Queue.get())".
#pragma once

#include <string>

#include "greenscope/analysis/labels.h"
#include "greenscope/traceio.h"

namespace gs::cli {

// greenlet_label() is "name#id" ("-" for 0): the analysis library's, shared
// with the viewer.
using analysis::greenlet_label;
// describe_event() says what `e` means, with its fields decoded.
std::string describe_event(const traceio::Trace& trace, const traceio::Event& e);

}  // namespace gs::cli
