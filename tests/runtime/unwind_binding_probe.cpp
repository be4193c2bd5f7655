// unwind_binding_probe.cpp: a program that links the runtime but has no
// exception handling of its own (-fno-exceptions, --as-needed), so nothing
// but the runtime's own link order puts libgcc_s ahead of libunwind. Exits 0
// if C++ exceptions bind to libgcc_s (unwind_binding.h).
#include <cstdint>
#include <cstdio>

#include "greenscope/stacks.h"
#include "unwind_binding.h"

int main() {
  std::uintptr_t pcs[4];
  (void)gs::capture_stack(pcs, 4);  // a use of the runtime: it stays NEEDED
  const std::string problem = gs::test::unwind_binding_problem();
  if (problem.empty()) return 0;
  std::printf("unwind_binding_probe: %s\n", problem.c_str());
  return 1;
}
