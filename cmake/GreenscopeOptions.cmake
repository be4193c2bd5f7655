# gs_apply_build_options(<target>) applies the project's warnings and the
# selected sanitizer to one target. Every target in the tree calls it.
function(gs_apply_build_options target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
    -Wnon-virtual-dtor -Wcast-align -Wunused -Woverloaded-virtual -Wnull-dereference)
  if(GS_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  # g++ 12 at -O3 reports -Wrestrict on any "text" + std::string temporary
  # (GCC bug 105329, fixed in 13): a false positive that would fail Release.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
endfunction()

# Frame pointers, in the whole build: gs::capture_stack() (and so every
# wait stack) follows them where libunwind has shown they hold, a couple of
# loads a frame against unw_backtrace()'s ~7 (runtime/src/introspection/
# frame_walk.h). Without them the walk is libunwind's, as before.
if(GS_FRAME_POINTERS)
  add_compile_options(-fno-omit-frame-pointer)
endif()

# Sanitizers apply to the whole build so that every object file, tests
# included, agrees on instrumentation.
if(GS_ASAN)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  add_compile_definitions(GS_SANITIZE_ADDRESS=1)
endif()
if(GS_TSAN)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
  add_compile_definitions(GS_SANITIZE_THREAD=1)
endif()
