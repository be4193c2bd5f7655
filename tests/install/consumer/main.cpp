// An outside program that only knows the installed package.
#include <greenscope/runtime.h>

#include <cstdio>
#include <vector>

int main() {
  std::vector<gs::Greenlet<int>> all;
  for (int i = 1; i <= 3; ++i) all.push_back(gs::spawn([](int v) { gs::sleep(std::chrono::milliseconds(v)); return v; }, i));
  int sum = 0;
  for (auto& g : all) sum += g.get();
  std::printf("consumer: %zu greenlets, sum %d\n", all.size(), sum);
  return 0;
}
