#include "test_support.h"

namespace gs::test {
namespace {

class LocalTest : public RuntimeTest {};

struct Counted {
  static inline int alive = 0;
  int value = 0;
  Counted() { ++alive; }
  ~Counted() { --alive; }
};

TEST_F(LocalTest, EachGreenletHasItsOwnValue) {
  gs::GreenletLocal<int> local;
  *local = 1;  // main's
  auto worker = [&](int v) {
    EXPECT_EQ(*local, 0);  // fresh, default-constructed
    *local = v;
    gs::yield();
    return *local;
  };
  auto a = gs::spawn(worker, 10);
  auto b = gs::spawn(worker, 20);
  EXPECT_EQ(a.get(), 10);
  EXPECT_EQ(b.get(), 20);
  EXPECT_EQ(*local, 1);
}

TEST_F(LocalTest, ValuesDieWithTheirGreenlet) {
  gs::GreenletLocal<Counted> local;
  auto g = gs::spawn([&] {
    local->value = 3;
    return Counted::alive;
  });
  EXPECT_EQ(g.get(), 1);
  EXPECT_EQ(Counted::alive, 0);
}

TEST_F(LocalTest, HasValueOnlyAfterFirstUse) {
  gs::GreenletLocal<int> local;
  auto g = gs::spawn([&] {
    const bool before = local.has_value();
    local.get();
    return !before && local.has_value();
  });
  EXPECT_TRUE(g.get());
}

}  // namespace
}  // namespace gs::test
