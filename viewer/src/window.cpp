// window.cpp: run_window(). GLFW + OpenGL 3 through imgui's own backends,
// used unmodified. The loop waits for events once the trace is loaded, so
// an idle viewer costs nothing; SIGUSR1 writes the state dump, SIGTERM and
// SIGINT close the window as its close button does.
#include "window.h"

#include <GLFW/glfw3.h>
#include <imgui.h>
#include <imgui_impl_glfw.h>
#include <imgui_impl_opengl3.h>

#include <dlfcn.h>
#include <link.h>

#include <atomic>
#include <cfloat>
#include <csignal>
#include <cstring>
#include <cstdio>
#include <string>

#include "screenshot.h"
#include "state_dump.h"

namespace gs::viewer {
namespace {

// Lock-free atomics, not volatile sig_atomic_t: the kernel runs the
// handler on whichever thread has the signal unblocked (a loader thread,
// say), and only an atomic makes its store a value the main thread may read
// (TSan saw the race under load, in the --drop test's SIGUSR1).
std::atomic<bool> g_dump_requested{false};
std::atomic<bool> g_quit_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free, "async-signal-safe only if lock-free");

void on_signal(int sig) {
  if (sig == SIGUSR1) g_dump_requested.store(true);
  else g_quit_requested.store(true);
}

void install_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
}

// g_app is the App the drop callback hands dropped files to (GLFW's
// callbacks carry no user pointer of ours: imgui's backend owns that one).
App* g_app = nullptr;

// on_drop() queues dropped files; the next frame opens them on the same
// time axis (App::open_files()), as --drop FILE does from the command line.
void on_drop(GLFWwindow*, int count, const char** paths) {
  if (g_app == nullptr) return;
  for (int i = 0; i < count; ++i) g_app->dropped.emplace_back(paths[i]);
}

// keep_gl_driver_loaded() makes the Mesa DRI driver that libGL loaded stay
// mapped after glfwTerminate(): LeakSanitizer checks at exit, and a driver
// unloaded by then takes with it the statics that still point at its heap
// blocks, which then look leaked (240 bytes from "<unknown module>" under
// Xvfb's swrast). RTLD_NOLOAD | RTLD_NODELETE only marks a library that is
// already loaded. ASan builds only: elsewhere nothing checks at exit.
void keep_gl_driver_loaded() {
#if defined(GS_SANITIZE_ADDRESS)
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void*) {
        if (info->dlpi_name != nullptr && std::strstr(info->dlpi_name, "_dri.so") != nullptr)
          dlopen(info->dlpi_name, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);  // the handle stays open
        return 0;
      },
      nullptr);
#endif
}

void on_glfw_error(int code, const char* text) {
  std::fprintf(stderr, "greenscope-viewer: GLFW error %d: %s\n", code, text);
}

GLFWwindow* open_window(const App& app) {
  glfwSetErrorCallback(on_glfw_error);
  if (!glfwInit()) {
    std::fprintf(stderr, "greenscope-viewer: cannot open a window: no display? (set DISPLAY, or run under Xvfb)\n");
    return nullptr;
  }
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 0);
  if (!app.options.screenshot.empty()) glfwWindowHint(GLFW_RESIZABLE, GLFW_FALSE);
  std::string title = "greenscope-viewer";
  if (!app.options.files.empty()) title += " - " + app.options.files.front();
  if (!app.options.record.empty()) title += " - recording " + app.options.record.front();
  GLFWwindow* w = glfwCreateWindow(app.options.width, app.options.height, title.c_str(), nullptr, nullptr);
  if (w == nullptr) {
    std::fprintf(stderr, "greenscope-viewer: cannot create an OpenGL 3 window\n");
    glfwTerminate();
    return nullptr;
  }
  glfwMakeContextCurrent(w);
  glfwSwapInterval(1);
  return w;
}

void init_imgui(GLFWwindow* w) {
  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;  // the layout is fixed: nothing to remember between runs
  ImGui::StyleColorsDark();
  ImGui::GetStyle().WindowRounding = 0;
  ImGui_ImplGlfw_InitForOpenGL(w, true);
  ImGui_ImplOpenGL3_Init("#version 130");
}

void render(GLFWwindow* w) {
  ImGui::Render();
  int fw = 0, fh = 0;
  glfwGetFramebufferSize(w, &fw, &fh);
  glViewport(0, 0, fw, fh);
  glClearColor(0.08f, 0.08f, 0.10f, 1.0f);
  glClear(GL_COLOR_BUFFER_BIT);
  ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
}

// take_screenshot() writes the frame just rendered (still in the back buffer).
int take_screenshot(App& app, GLFWwindow* w) {
  int fw = 0, fh = 0;
  glfwGetFramebufferSize(w, &fw, &fh);
  std::string error;
  if (!write_screenshot(app.options.screenshot, fw, fh, &error)) {
    std::fprintf(stderr, "greenscope-viewer: screenshot: %s\n", error.c_str());
    return 1;
  }
  if (!app.load_errors.empty()) return 1;  // written, but a file was not read: say so
  return 0;
}

// kSettleFrames: frames drawn after loading before a screenshot, so that
// imgui's auto-sized parts (tables, scroll requests) have settled.
constexpr std::uint64_t kSettleFrames = 5;

}  // namespace

int run_window(App& app) {
  // The handlers go first: a test (or a user) that sees the window may send
  // SIGUSR1 at once, and its default action would kill the viewer.
  install_signals();
  GLFWwindow* w = open_window(app);
  if (w == nullptr) return 1;
  init_imgui(w);
  g_app = &app;
  glfwSetDropCallback(w, on_drop);
  app.start();
  const bool screenshot = !app.options.screenshot.empty();
  std::uint64_t loaded_at = 0;
  int status = 0;
  while (!glfwWindowShouldClose(w) && !g_quit_requested.load()) {
    if (screenshot || !app.loaded()) glfwWaitEventsTimeout(1.0 / 60);
    else glfwWaitEventsTimeout(0.1);
    ImGui_ImplOpenGL3_NewFrame();
    ImGui_ImplGlfw_NewFrame();
    // A screenshot shows the view, not whatever lies under the pointer
    // (Xvfb puts it mid-screen): no hover, no tooltip.
    if (screenshot) ImGui::GetIO().MousePos = ImVec2(-FLT_MAX, -FLT_MAX);
    ImGui::NewFrame();
    app.frame_ui();
    render(w);
    // A screenshot waits for every load (a --drop one too) to be done.
    if (!app.loaded() || app.reloading() || !app.dropped.empty()) loaded_at = 0;
    else if (loaded_at == 0) loaded_at = app.frame;
    if (screenshot && loaded_at != 0 && app.frame >= loaded_at + kSettleFrames) {
      status = take_screenshot(app, w);
      break;
    }
    glfwSwapBuffers(w);
    if (!app.options.dump_state.empty() && g_dump_requested.exchange(false)) write_state(app, app.options.dump_state);
  }
  if (!app.options.dump_state.empty()) write_state(app, app.options.dump_state);
  keep_gl_driver_loaded();
  ImGui_ImplOpenGL3_Shutdown();
  ImGui_ImplGlfw_Shutdown();
  ImGui::DestroyContext();
  g_app = nullptr;
  glfwDestroyWindow(w);
  glfwTerminate();
  return status;
}

}  // namespace gs::viewer
