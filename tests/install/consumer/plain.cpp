// A program that links the installed runtime only: GREENSCOPE_TRACE must
// still trace it, through the tracer installed beside the runtime.
#include <greenscope/runtime.h>

#include <cstdio>

int main() {
  auto g = gs::spawn([] { gs::sleep(std::chrono::milliseconds(1)); return 7; });
  std::printf("plain: %d\n", g.get());
  return 0;
}
