# passes.sh: the test suite's three build passes, shared by test.sh (CI) and
# repeat-tests.sh (the determinism proof). Source it; it defines:
#   pass_names                 release asan tsan
#   pass_dir NAME              the build directory
#   pass_cmake_args NAME       what configures it
#   pass_env NAME              the sanitizer options its tests run with (for env)
#   build_pass NAME            configure and build it (quietly configured)

pass_names="release asan tsan"

pass_dir() {
  case $1 in
    release) echo build ;;
    asan) echo build-asan ;;
    tsan) echo build-tsan ;;
    *) echo "passes.sh: no pass '$1' (release, asan, tsan)" >&2; return 1 ;;
  esac
}

pass_cmake_args() {
  local common="-G Ninja -DGS_WARNINGS_AS_ERRORS=ON"
  case $1 in
    release) echo "$common -DGS_BUILD_BENCH=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo" ;;
    asan) echo "$common -DGS_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug -DGS_ASAN=ON" ;;
    tsan) echo "$common -DGS_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGS_TSAN=ON" ;;
    *) echo "passes.sh: no pass '$1' (release, asan, tsan)" >&2; return 1 ;;
  esac
}

pass_env() {
  case $1 in
    release) echo "GS_PASS=release" ;;
    asan) echo "ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1" ;;
    tsan) echo "TSAN_OPTIONS=halt_on_error=1" ;;
    *) echo "passes.sh: no pass '$1' (release, asan, tsan)" >&2; return 1 ;;
  esac
}

build_pass() {
  local name=$1 dir
  dir=$(pass_dir "$name") || return 1
  mkdir -p "$dir"
  # shellcheck disable=SC2046  # the arguments are words on purpose
  cmake -S . -B "$dir" $(pass_cmake_args "$name") > "$dir/configure.log" 2>&1 \
    || { cat "$dir/configure.log"; return 1; }
  cmake --build "$dir" -j "$(nproc)"
}
