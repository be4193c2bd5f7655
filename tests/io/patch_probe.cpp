// patch_probe: prints whether patch_all() is on (GREENSCOPE_PATCH_ALL) and
// whether a blocking pipe read in a greenlet let another greenlet run.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include "greenscope/runtime.h"

int main() {
  int p[2];
  if (::pipe(p) != 0) return 1;
  bool writer_ran_first = false;
  auto reader = gs::spawn([&] {
    if (!gs::patched()) return;  // unpatched, the read would block forever
    char c;
    ::read(p[0], &c, 1);
  });
  auto writer = gs::spawn([&] {
    writer_ran_first = !reader.ready();
    ::write(p[1], "x", 1);
  });
  gs::joinall({reader, writer});
  std::printf("patched=%d cooperative=%d\n", gs::patched() ? 1 : 0, gs::patched() && writer_ran_first ? 1 : 0);
  return 0;
}
