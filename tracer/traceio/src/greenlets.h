// greenlets.h: GreenletTable, one GreenletInfo per greenlet id from the
// lifecycle events of every thread (a greenlet lives on one thread). The
// loader feeds it every event once; a Follower feeds it each poll's.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "load_state.h"

namespace gs::traceio::detail {

class GreenletTable {
 public:
  // `out` is the table filled in; `touched`, if given, gets the id of each
  // entry that add() created or changed (repeats included).
  GreenletTable(const Texts& texts, std::map<std::uint64_t, GreenletInfo>& out,
                std::vector<std::uint64_t>* touched = nullptr)
      : texts_(texts), greenlets_(out), touched_(touched) {}

  void add(std::uint32_t thread, const Event& e);

 private:
  GreenletInfo* touch(std::uint32_t thread, std::uint64_t id);
  void seen(std::uint32_t thread, std::uint64_t id);
  void spawn(std::uint32_t thread, const Event& e);
  void rename(std::uint32_t thread, std::uint64_t id, const std::string& name);
  void exit(std::uint32_t thread, const Event& e);
  void hub_start(std::uint32_t thread, const Event& e);

  const Texts& texts_;
  std::map<std::uint64_t, GreenletInfo>& greenlets_;
  std::vector<std::uint64_t>* touched_;
  std::array<std::uint64_t, 256> recent_{};  // ids known to have an entry (0: none)
};

}  // namespace gs::traceio::detail
