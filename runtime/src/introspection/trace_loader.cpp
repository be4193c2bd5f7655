// trace_loader.cpp: GREENSCOPE_TRACE and its siblings work in any program
// linked with the runtime, with no code change: at load time the runtime
// dlopen()s the tracer library installed beside it, whose own constructor
// reads the environment (tracer/src/autostart.cpp). The runtime never calls
// into the tracer: it only reports to whichever Observer is installed.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace gs::detail {
namespace {

constexpr const char* kTracerSoname = "libgreenscope_tracer.so." GS_PROJECT_VERSION_MAJOR;

bool tracing_asked_for() {
  for (const char* name : {"GREENSCOPE_TRACE", "GREENSCOPE_TRACE_SIGNAL", "GREENSCOPE_TRACE_FLIGHT_MIB"})
    if (std::getenv(name) != nullptr) return true;
  return false;
}

// runtime_directory() is where this library's file lives ("" if unknown).
std::string runtime_directory() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&tracing_asked_for), &info) == 0 || info.dli_fname == nullptr) return {};
  const std::string path = info.dli_fname;
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

[[gnu::constructor]] void load_tracer_if_asked() {
  if (!tracing_asked_for()) return;
  if (void* linked = dlopen(kTracerSoname, RTLD_NOW | RTLD_NOLOAD)) {  // the program links it already
    dlclose(linked);
    return;
  }
  const std::string beside = runtime_directory() + kTracerSoname;
  if (dlopen(beside.c_str(), RTLD_NOW | RTLD_GLOBAL) != nullptr) return;
  const std::string first_error = dlerror();
  if (dlopen(kTracerSoname, RTLD_NOW | RTLD_GLOBAL) != nullptr) return;
  std::fprintf(stderr,
               "greenscope: GREENSCOPE_TRACE is set but the tracer library could not be loaded (%s). "
               "Install libgreenscope_tracer beside the runtime library, or unset GREENSCOPE_TRACE.\n",
               first_error.c_str());
}

}  // namespace
}  // namespace gs::detail
