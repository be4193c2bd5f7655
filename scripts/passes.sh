# passes.sh: the test suite's build passes, shared by test.sh (CI) and
# repeat-tests.sh (the determinism proof). Source it; it defines:
#   pass_names                 release asan tsan: the passes repeat-tests.sh repeats
#   pass_dir NAME              the build directory
#   pass_cmake_args NAME       what configures it
#   pass_targets NAME          what it builds: --target ..., or nothing for all
#   pass_ctest_args NAME       which of its tests ctest runs: nothing for all
#   pass_env NAME              the sanitizer options its tests run with (for env)
#   build_pass NAME            configure and build it (quietly configured)
#
# The fuzz pass (test.sh runs it after the others) builds only the libFuzzer
# targets, with clang, ASan+UBSan and coverage in every library
# (-fsanitize=fuzzer-no-link), and runs each for GS_FUZZ_SECONDS (a CMake
# cache variable, 30 by default) from tests/fuzz/corpus: its tests are
# labelled fuzz. It is not in pass_names: a fuzz run is random by design, so
# repeating it says nothing about the suite's determinism (repeat-tests.sh
# --passes fuzz still works).

pass_names="release asan tsan"

pass_dir() {
  case $1 in
    release) echo build ;;
    asan) echo build-asan ;;
    tsan) echo build-tsan ;;
    fuzz) echo build-fuzz ;;
    *) echo "passes.sh: no pass '$1' (release, asan, tsan, fuzz)" >&2; return 1 ;;
  esac
}

pass_cmake_args() {
  local common="-G Ninja -DGS_WARNINGS_AS_ERRORS=ON"
  local fuzz="-DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 -DGS_BUILD_EXAMPLES=OFF -DGS_SHARED_SANITIZER_RUNTIME=OFF
    -DGS_BUILD_VIEWER=OFF -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link"
  case $1 in
    release) echo "$common -DGS_BUILD_BENCH=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo" ;;
    # The ASan pass builds with clang 14: it compiles this tree about 40 %
    # faster than g++ 12 at -O0 (CI's 40 minutes), and a second compiler's
    # -Werror keeps the tree portable. Its runtime is the shared one
    # (cmake/GreenscopeOptions.cmake).
    asan) echo "$common -DGS_BUILD_BENCH=OFF -DGS_BUILD_FUZZ=OFF -DCMAKE_BUILD_TYPE=Debug -DGS_ASAN=ON
      -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14" ;;
    # The TSan pass builds with clang 14 too (35-40 % faster per file). It
    # keeps TSan's static runtime: clang 14's shared one crashes at start-up
    # in its __cxa_atexit interceptor. No fuzz targets: libFuzzer is ASan's.
    tsan) echo "$common -DGS_BUILD_BENCH=OFF -DGS_BUILD_FUZZ=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGS_TSAN=ON
      -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14" ;;
    fuzz) echo "$common -DGS_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGS_ASAN=ON $fuzz" ;;
    *) echo "passes.sh: no pass '$1' (release, asan, tsan, fuzz)" >&2; return 1 ;;
  esac
}

pass_targets() {
  case $1 in
    release|asan|tsan) echo "" ;;
    fuzz) echo "--target fuzz_targets" ;;  # tests/CMakeLists.txt: every libFuzzer target
    *) echo "passes.sh: no pass '$1' (release, asan, tsan, fuzz)" >&2; return 1 ;;
  esac
}

pass_ctest_args() {
  case $1 in
    release|asan) echo "" ;;
    # The planted-bug suite (label hunt) checks the stall report's accuracy
    # against real timing; under TSan the program runs 5 to 15 times slower,
    # its samples land in TSan's runtime and its signals wait for an
    # intercepted call, so the harness's own work becomes stalls and CPU
    # loops are never sampled: it runs in the release and ASan passes.
    tsan) echo "-LE hunt" ;;
    # --no-tests=error: a clang without libFuzzer builds no fuzz target, and
    # that must fail the pass, not pass it empty.
    fuzz) echo "-L fuzz --no-tests=error" ;;
    *) echo "passes.sh: no pass '$1' (release, asan, tsan, fuzz)" >&2; return 1 ;;
  esac
}

pass_env() {
  case $1 in
    release) echo "GS_PASS=release" ;;
    asan|fuzz) echo "ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1" ;;
    tsan) echo "TSAN_OPTIONS=halt_on_error=1" ;;
    *) echo "passes.sh: no pass '$1' (release, asan, tsan, fuzz)" >&2; return 1 ;;
  esac
}

build_pass() {
  local name=$1 dir
  dir=$(pass_dir "$name") || return 1
  mkdir -p "$dir"
  # shellcheck disable=SC2046  # the arguments are words on purpose
  cmake -S . -B "$dir" $(pass_cmake_args "$name") > "$dir/configure.log" 2>&1 \
    || { cat "$dir/configure.log"; return 1; }
  # shellcheck disable=SC2046
  cmake --build "$dir" -j "$(nproc)" $(pass_targets "$name")
}
