// echo_server: a TCP echo server on gs::StreamServer, one greenlet per
// connection.
//
//   echo_server [--port N] [--host ADDR] [--max-connections N] [--recv string|into]
//
// --recv string reads the natural way, `std::string data = conn.recv(65536)`;
// the default, --recv into, reads into a buffer the greenlet owns
// (bench/io_compare.sh runs both).
//
// Prints "listening on HOST:PORT" once it accepts connections (with
// --port 0, the port the kernel chose); stops gracefully on SIGINT/SIGTERM.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "greenscope/runtime.h"

namespace {

void echo(gs::Socket& conn, const gs::Address& /*peer*/) {
  char buf[65536];
  for (;;) {
    const std::size_t n = conn.recv_into(buf, sizeof buf);
    if (n == 0) return;  // the client closed
    conn.sendall(buf, n);
  }
}

void echo_strings(gs::Socket& conn, const gs::Address& /*peer*/) {
  for (;;) {
    const std::string data = conn.recv(65536);
    if (data.empty()) return;  // the client closed
    conn.sendall(data.data(), data.size());
  }
}

int usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s [--port N] [--host ADDR] [--max-connections N] [--recv string|into]\n", argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  unsigned long port = 8000;
  unsigned long max_connections = 0;
  gs::StreamServer::Handler handler = echo;
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    if (i + 1 >= argc) return usage(argv[0]);
    if (std::strcmp(arg, "--port") == 0) {
      port = std::strtoul(argv[++i], nullptr, 10);
    } else if (std::strcmp(arg, "--host") == 0) {
      host = argv[++i];
    } else if (std::strcmp(arg, "--max-connections") == 0) {
      max_connections = std::strtoul(argv[++i], nullptr, 10);
    } else if (std::strcmp(arg, "--recv") == 0) {
      const std::string how = argv[++i];
      if (how != "string" && how != "into") return usage(argv[0]);
      handler = how == "string" ? echo_strings : echo;
    } else {
      return usage(argv[0]);
    }
  }
  gs::StreamServer::Options options;
  options.max_connections = max_connections;
  gs::StreamServer server(gs::Address::ip(host, static_cast<unsigned short>(port)), handler, options);
  server.start();
  std::printf("listening on %s\n", server.address().to_string().c_str());
  std::fflush(stdout);
  auto stop = [&server] { server.stop(std::chrono::seconds(1)); };
  gs::SignalHandler on_int = gs::signal_handler(SIGINT, stop);
  gs::SignalHandler on_term = gs::signal_handler(SIGTERM, stop);
  server.serve_forever();
  std::fprintf(stderr, "echo_server: stopped after %zu connections\n", server.accepted());
  return 0;
}
