// test_support.h: the fixture every runtime test uses. Like marl's, it is
// also a leak check: a test must leave no greenlet alive on its hub.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "greenscope/runtime.h"

namespace gs::test {

using namespace std::chrono_literals;

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    gs::get_hub().set_error_handler([this](const gs::ErrorReport& r) { reports.push_back(r.text); });
  }
  void TearDown() override {
    EXPECT_EQ(gs::get_hub().live_greenlets(), 0u) << "the test left greenlets alive";
    gs::get_hub().set_error_handler(nullptr);
  }

  std::vector<std::string> reports;  // what the hub's error handler received
};

// kNan: a timeout the runtime refuses (gs::UsageError naming the call).
inline const gs::Duration kNan{std::numeric_limits<double>::quiet_NaN()};

// expect_usage_error() runs `call`, which must throw gs::UsageError whose
// message holds every one of `parts`.
template <class F>
void expect_usage_error(F&& call, std::initializer_list<std::string> parts) {
  try {
    call();
    ADD_FAILURE() << "no UsageError";
  } catch (const gs::UsageError& e) {
    for (const std::string& part : parts) EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

// Ticker is a greenlet that counts how often it got to run (every 5 ms of
// sleep) until destroyed: a wait that blocked the thread would leave it at 1.
class Ticker {
 public:
  Ticker()
      : g_(gs::spawn([this] {
          for (;;) {
            ++ticks_;
            gs::sleep(std::chrono::milliseconds(5));
          }
        })) {}
  ~Ticker() { g_.kill(); }
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;
  int ticks() const { return ticks_; }

 private:
  int ticks_ = 0;
  gs::GreenletRef g_;
};

// elapsed() measures a block of code on the steady clock.
template <class F>
std::chrono::duration<double> elapsed(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::steady_clock::now() - start;
}

}  // namespace gs::test
