// switch_store.h: SwitchStore, one thread's switch links packed into 8
// bytes each (model.h's SwitchLink takes 16): a 32-bit time delta from the
// previous switch and the two tracks as 16-bit offsets from the thread's
// first track. A switch that does not fit (a gap over 4 s, a thread with
// 65535 tracks) takes an escape word and two full ones. Private to
// greenscope::analysis; Model::switch_links() reads it.
#pragma once

#include <cstdint>
#include <vector>

#include "greenscope/analysis/model.h"

namespace gs::analysis::detail {

class SwitchStore {
 public:
  explicit SwitchStore(std::uint32_t first_track = 0) : first_track_(first_track) {}

  // add() appends a switch; times must not go down.
  void add(std::int64_t time_ns, std::uint32_t from_track, std::uint32_t to_track);
  // collect() appends the switches with from <= time_ns < to, in time order.
  void collect(std::int64_t from, std::int64_t to, std::vector<SwitchLink>& out) const;
  // collect_touching() appends those that leave or enter `track`, stopping
  // once `out` holds `max`.
  void collect_touching(std::uint32_t track, std::int64_t from, std::int64_t to, std::size_t max,
                        std::vector<SwitchLink>& out) const;
  // rebase() renumbers the tracks: a store filled with track numbers
  // counted from 0 then links the tracks counted from `first_track`.
  void rebase(std::uint32_t first_track);
  // shift() moves every switch `ns` later.
  void shift(std::int64_t ns);
  std::size_t size() const { return count_; }
  std::uint32_t first_track() const { return first_track_; }
  std::size_t bytes() const;
  void shrink();

 private:
  // Checkpoint lets collect() start near `from`: the word where switch
  // number k * kEvery starts, and the time of the switch before it.
  struct Checkpoint {
    std::int64_t before_ns;
    std::size_t word;
  };
  static constexpr std::size_t kEvery = 1024;
  // scan() calls keep(link) for each switch from `from` on, until one at or
  // after `to` or keep() returns false.
  template <typename Keep>
  void scan(std::int64_t from, std::int64_t to, Keep&& keep) const;
  static constexpr std::uint64_t kEscape = UINT64_MAX;

  std::uint32_t first_track_;
  std::int64_t last_ns_ = 0;  // the latest switch's time
  std::size_t count_ = 0;
  std::vector<std::uint64_t> words_;
  std::vector<Checkpoint> checkpoints_;
};

}  // namespace gs::analysis::detail
