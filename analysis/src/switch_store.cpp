// switch_store.cpp: SwitchStore (switch_store.h).
#include "switch_store.h"

#include <algorithm>

namespace gs::analysis::detail {

void SwitchStore::add(std::int64_t time_ns, std::uint32_t from_track, std::uint32_t to_track) {
  if (count_ == 0) last_ns_ = time_ns;
  if (count_ % kEvery == 0) checkpoints_.push_back(Checkpoint{last_ns_, words_.size()});
  const auto delta = static_cast<std::uint64_t>(time_ns - last_ns_);
  const std::uint32_t from = from_track - first_track_, to = to_track - first_track_;
  if (delta < UINT32_MAX && from < UINT16_MAX && to < UINT16_MAX) {
    words_.push_back(delta << 32 | std::uint64_t{from} << 16 | to);
  } else {
    words_.push_back(kEscape);
    words_.push_back(delta);
    words_.push_back(std::uint64_t{from_track} << 32 | to_track);
  }
  last_ns_ = time_ns;
  ++count_;
}

template <typename Keep>
void SwitchStore::scan(std::int64_t from, std::int64_t to, Keep&& keep) const {
  if (count_ == 0) return;
  // The last checkpoint whose switch before it is earlier than `from`.
  auto cp = std::upper_bound(checkpoints_.begin(), checkpoints_.end(), from,
                             [](std::int64_t t, const Checkpoint& c) { return t <= c.before_ns; });
  if (cp != checkpoints_.begin()) --cp;
  std::int64_t t = cp->before_ns;
  for (std::size_t w = cp->word; w < words_.size(); ++w) {
    SwitchLink link;
    if (words_[w] == kEscape) {
      t += static_cast<std::int64_t>(words_[w + 1]);
      link = SwitchLink{t, static_cast<std::uint32_t>(words_[w + 2] >> 32), static_cast<std::uint32_t>(words_[w + 2])};
      w += 2;
    } else {
      t += static_cast<std::int64_t>(words_[w] >> 32);
      link = SwitchLink{t, first_track_ + static_cast<std::uint32_t>((words_[w] >> 16) & 0xFFFF),
                        first_track_ + static_cast<std::uint32_t>(words_[w] & 0xFFFF)};
    }
    if (t >= to) break;
    if (t >= from && !keep(link)) break;
  }
}

void SwitchStore::collect(std::int64_t from, std::int64_t to, std::vector<SwitchLink>& out) const {
  scan(from, to, [&](const SwitchLink& link) {
    out.push_back(link);
    return true;
  });
}

void SwitchStore::collect_touching(std::uint32_t track, std::int64_t from, std::int64_t to, std::size_t max,
                                   std::vector<SwitchLink>& out) const {
  if (out.size() >= max) return;
  scan(from, to, [&](const SwitchLink& link) {
    if (link.from_track == track || link.to_track == track) out.push_back(link);
    return out.size() < max;
  });
}

void SwitchStore::rebase(std::uint32_t first_track) {
  const std::uint32_t by = first_track - first_track_;
  first_track_ = first_track;
  // Packed words hold offsets from first_track_; escapes hold whole numbers.
  for (std::size_t w = 0; w < words_.size(); ++w) {
    if (words_[w] != kEscape) continue;
    const auto from = static_cast<std::uint32_t>(words_[w + 2] >> 32) + by;
    const auto to = static_cast<std::uint32_t>(words_[w + 2]) + by;
    words_[w + 2] = std::uint64_t{from} << 32 | to;
    w += 2;
  }
}

void SwitchStore::shift(std::int64_t ns) {
  last_ns_ += ns;
  for (Checkpoint& c : checkpoints_) c.before_ns += ns;
}

std::size_t SwitchStore::bytes() const {
  return sizeof *this + words_.capacity() * sizeof(std::uint64_t) + checkpoints_.capacity() * sizeof(Checkpoint);
}

void SwitchStore::shrink() {
  words_.shrink_to_fit();
  checkpoints_.shrink_to_fit();
}

}  // namespace gs::analysis::detail
