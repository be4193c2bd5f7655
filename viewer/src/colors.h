// colors.h: the timeline's colours. Red means a stall and nothing else:
// greenlet hues stay out of it, so a frozen stretch is found at a glance.
#pragma once

#include <cstdint>

#include "greenscope/analysis/model.h"

namespace gs::viewer {

using Color = std::uint32_t;  // ImU32: 0xAABBGGRR

inline constexpr Color kStallRed = 0xFF2020E0;       // IM_COL32(224, 32, 32, 255)
inline constexpr Color kCrashRed = 0xFF3C3CFF;
inline constexpr Color kTextLight = 0xFFF0F0F0;
inline constexpr Color kTextDark = 0xFF101010;

// greenlet_color() is a greenlet's running colour: a hue hashed from its
// process and id, the same in every run of the viewer.
Color greenlet_color(std::uint32_t process, std::uint64_t id);
// wait_color() is a waiting span's grey, a shade per reason.
Color wait_color(traceio::Reason reason);
// span_color() is the fill of a span (Running and Waiting need the track).
Color span_color(const analysis::Track& track, analysis::SpanKind kind, std::uint8_t code);
// text_color_on() is black or white, whichever reads on `fill`.
Color text_color_on(Color fill);
Color dimmed(Color c, float factor);

}  // namespace gs::viewer
