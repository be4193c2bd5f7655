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
#
# With clang ASan's runtime is the shared one (-shared-libsan), as g++'s
# libasan.so is: linked statically (clang's default) it lands in the
# program itself, and its interceptors (read, pthread_mutex_lock, ...) and
# __asan_memset then read as the program's own code in a stall report.
# TSan's stays static: clang 14's shared TSan runtime crashes at start-up
# (libstdc++'s initializers reach its __cxa_atexit before it is set up).
# libFuzzer needs the static one ("ASan runtime does not come first"): the
# fuzz pass turns GS_SHARED_SANITIZER_RUNTIME off, and a build with the
# shared one has no fuzz targets (tests/traceio/CMakeLists.txt).
option(GS_SHARED_SANITIZER_RUNTIME "With clang and GS_ASAN, link ASan's shared runtime (-shared-libsan)" ON)
set(GS_USES_SHARED_SANITIZER_RUNTIME OFF)
if(GS_ASAN AND GS_SHARED_SANITIZER_RUNTIME AND CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-runtime-dir OUTPUT_VARIABLE gs_sanitizer_runtime_dir
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  add_link_options(-shared-libsan "LINKER:-rpath,${gs_sanitizer_runtime_dir}")
  set(GS_USES_SHARED_SANITIZER_RUNTIME ON)
endif()
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
