// server.h: gs::StreamServer, a TCP/Unix server that serves each connection
// in its own greenlet (gevent.server.StreamServer).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "greenscope/socket.h"
#include "greenscope/types.h"

namespace gs {

// StreamServer accepts connections on `address` and runs handler(conn, peer)
// in a new greenlet for each. The connection is closed when the handler
// returns or throws (the hub reports the exception). It belongs to the
// creating thread's hub.
class StreamServer {
 public:
  using Handler = std::function<void(Socket& connection, const Address& peer)>;
  struct Options {
    int backlog = 128;  // negative: 0 (Socket::listen())
    // max_connections > 0 serves at most that many at once (a gs::Pool);
    // further connections wait in the listen backlog.
    std::size_t max_connections = 0;
  };

  StreamServer(const Address& address, Handler handler);
  StreamServer(const Address& address, Handler handler, Options options);
  // ~StreamServer() is stop(): closes the listener and kills live handlers.
  ~StreamServer();
  StreamServer(const StreamServer&) = delete;
  StreamServer& operator=(const StreamServer&) = delete;

  // start() binds, listens and starts accepting in a greenlet; returns at
  // once. Throws IoError if the address cannot be bound.
  void start();
  // serve_forever() is start() and then waiting until stop().
  void serve_forever();
  // stop() stops accepting (closes the listener), waits up to `grace` for
  // connections being served to finish, then kills the rest. Idempotent.
  // A grace of 0 or less kills them at once; NaN is a UsageError (and
  // stops nothing).
  void stop(Duration grace = std::chrono::seconds(1));

  bool started() const;
  // address() is the bound address (with the real port after port 0).
  Address address() const;
  // connections() counts connections being served now.
  std::size_t connections() const;
  // accepted() counts connections accepted since start().
  std::size_t accepted() const;

  struct State;  // server.cpp

 private:
  std::shared_ptr<State> state_;
};

}  // namespace gs
