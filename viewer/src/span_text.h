// span_text.h: what a span or greenlet is called on screen: short labels
// inside boxes, longer lines in tooltips and details.
#pragma once

#include <cstdint>
#include <string>

#include "greenscope/analysis/model.h"

namespace gs::viewer {

const char* kind_name(analysis::SpanKind kind);
// greenlet_label(): "'user-3' (#12)", or "#12" if the model never named it.
std::string greenlet_label(const analysis::Model& m, std::uint32_t process, std::uint64_t id);
// wait_label(): "io fd 5 read", "queue Queue.get()", "join 'worker' (#4)".
std::string wait_label(const analysis::Model& m, std::uint32_t process, std::uint8_t reason,
                       const analysis::SpanInfo& info);
// span_label() is the text inside a span's box (cut to fit by the caller).
std::string span_label(const analysis::Model& m, const analysis::Track& track, const analysis::SpanColumns& level,
                       std::size_t i);
// stall_culprit(): "greenlet 'spin' (#7)", "io watcher callback", "hub".
std::string stall_culprit(const analysis::Model& m, std::size_t stall);
// track_label() names a timeline row: the greenlet, "hub", "jobs".
std::string track_label(const analysis::Model& m, const analysis::Track& track);

}  // namespace gs::viewer
