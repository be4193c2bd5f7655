#include <string>

#include "test_support.h"

namespace gs::test {
namespace {

// Recorder writes one line per hook so tests can assert the sequence.
class Recorder : public gs::Observer {
 public:
  std::vector<std::string> lines;
  int polls = 0, callback_phases = 0, watcher_callbacks = 0;

  void on_spawn(const GreenletInfo& g, const GreenletInfo& spawner) override {
    lines.push_back("spawn " + g.name() + " by " + spawner.name());
  }
  void on_switch(const GreenletInfo& from, const GreenletInfo& to, SwitchReason r) override {
    lines.push_back("switch " + from.name() + "->" + to.name() + " " + std::string(to_string(r)));
  }
  void on_exit(const GreenletInfo& g, ExitKind k, std::string_view error) override {
    lines.push_back("exit " + g.name() + " " + std::string(to_string(k)) + " " + std::string(error));
  }
  void on_rename(const GreenletInfo& g) override { lines.push_back("rename " + g.name()); }
  void on_poll_begin(const Hub&) override { ++polls; }
  void on_callbacks_begin(const Hub&) override { ++callback_phases; }
  void on_watcher_begin(const Hub&, WatcherKind, const void*, int, int) override { ++watcher_callbacks; }

  bool has(const std::string& line) const {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
  }
};

class ObserverTest : public RuntimeTest {
 protected:
  void SetUp() override {
    RuntimeTest::SetUp();
    gs::set_observer(&recorder);
  }
  void TearDown() override {
    gs::set_observer(nullptr);
    RuntimeTest::TearDown();
  }
  Recorder recorder;
};

TEST_F(ObserverTest, SeesSpawnSwitchesWithReasonsAndExit) {
  auto g = gs::spawn([] {
    gs::yield();
    gs::sleep(1ms);
  });
  g.set_name("w");
  g.join();
  EXPECT_TRUE(recorder.has("rename w"));
  EXPECT_TRUE(recorder.has("switch main->hub join"));
  EXPECT_TRUE(recorder.has("switch hub->w resume"));
  EXPECT_TRUE(recorder.has("switch w->hub yield"));
  EXPECT_TRUE(recorder.has("switch w->hub sleep"));
  EXPECT_TRUE(recorder.has("switch w->hub exit"));
  EXPECT_TRUE(recorder.has("exit w returned "));
  EXPECT_TRUE(recorder.has("switch hub->main resume"));
  EXPECT_GE(recorder.polls, 1);
  EXPECT_GE(recorder.callback_phases, 1);
  EXPECT_GE(recorder.watcher_callbacks, 2);  // at least a prepare and the sleep's timer
}

TEST_F(ObserverTest, SeesKillsAndFailures) {
  auto victim = gs::spawn([] { gs::sleep(100s); });
  victim.set_name("v");
  auto bad = gs::spawn([] { throw std::runtime_error("x"); });
  bad.set_name("b");
  gs::sleep(1ms);
  victim.kill();
  EXPECT_TRUE(recorder.has("switch hub->v kill"));
  EXPECT_TRUE(recorder.has("exit v killed "));
  EXPECT_TRUE(recorder.has("exit b failed greenlet 'b' (id " + std::to_string(bad.id()) +
                           ") failed: std::runtime_error: x"));
  auto unstarted = gs::spawn([] {});
  unstarted.set_name("u");
  unstarted.kill();
  EXPECT_TRUE(recorder.has("exit u never-started "));
}

TEST_F(ObserverTest, SpawnNamesTheSpawner) {
  auto g = gs::spawn([] {});
  EXPECT_TRUE(recorder.has("spawn Greenlet-" + std::to_string(g.id()) + " by main"));
  g.join();
}

}  // namespace
}  // namespace gs::test
