// server.cpp: gs::StreamServer. One acceptor greenlet; one greenlet per
// connection, tracked by a Group (a Pool when connections are limited).
#include "greenscope/server.h"

#include <cerrno>
#include <cstdio>

#include "greenscope/errors.h"
#include "greenscope/event.h"
#include "greenscope/greenlet.h"
#include "greenscope/hub.h"
#include "greenscope/pool.h"

namespace gs {

struct StreamServer::State {
  Address address;
  Handler handler;
  Options options;
  Socket listener;
  GreenletRef acceptor;
  std::unique_ptr<Group> group;
  Event stopped;
  std::size_t accepted = 0;
  bool started = false;
  bool stopping = false;
};

namespace {

void serve_connection(const std::shared_ptr<StreamServer::State>& state, Socket& conn, const Address& peer);

void accept_loop(const std::shared_ptr<StreamServer::State>& state) {
  auto* pool = dynamic_cast<Pool*>(state->group.get());
  while (!state->stopping) {
    if (pool != nullptr) pool->wait_available();
    std::pair<Socket, Address> accepted;
    try {
      accepted = state->listener.accept();
    } catch (const IoError& e) {
      if (state->stopping || e.error() == EBADF) return;
      // EMFILE, ENFILE, ENOBUFS...: say so and back off instead of spinning.
      std::fprintf(stderr, "greenscope: StreamServer on %s: %s; retrying in 100 ms\n",
                   state->address.to_string().c_str(), e.what());
      gs::sleep(std::chrono::milliseconds(100));
      continue;
    }
    ++state->accepted;
    auto conn = std::make_shared<Socket>(std::move(accepted.first));
    const Address peer = accepted.second;
    auto g = state->group->spawn([state, conn, peer] { serve_connection(state, *conn, peer); });
    g.set_name("StreamServer connection " + peer.to_string());
  }
}

void serve_connection(const std::shared_ptr<StreamServer::State>& state, Socket& conn, const Address& peer) {
  state->handler(conn, peer);
  conn.close();
}

}  // namespace

StreamServer::StreamServer(const Address& address, Handler handler)
    : StreamServer(address, std::move(handler), Options{}) {}

StreamServer::StreamServer(const Address& address, Handler handler, Options options)
    : state_(std::make_shared<State>()) {
  if (!handler) throw UsageError("gs::StreamServer: pass a handler: void(gs::Socket&, const gs::Address&)");
  state_->address = address;
  state_->handler = std::move(handler);
  state_->options = options;
  if (options.max_connections > 0) {
    state_->group = std::make_unique<Pool>(options.max_connections);
  } else {
    state_->group = std::make_unique<Group>();
  }
}

StreamServer::~StreamServer() {
  // A destructor must not block: close and kill without waiting.
  state_->stopping = true;
  state_->listener.close();
  if (state_->acceptor && !state_->acceptor.ready()) state_->acceptor.kill(false);
  state_->group->kill(false);
  state_->stopped.set();
  state_->acceptor = GreenletRef();  // its function holds the state: break the cycle
}

void StreamServer::start() {
  if (state_->started) return;
  state_->listener = Socket::listen_on(state_->address, state_->options.backlog);
  state_->address = state_->listener.local_address();
  state_->started = true;
  state_->acceptor = gs::spawn([state = state_] { accept_loop(state); });
  state_->acceptor.set_name("StreamServer accept " + state_->address.to_string());
}

void StreamServer::serve_forever() {
  start();
  state_->stopped.wait();
}

void StreamServer::stop(Duration grace) {
  detail::timeout_seconds(grace, "gs::StreamServer::stop()");  // NaN: UsageError before anything stops
  if (state_->stopping) return;
  state_->stopping = true;
  state_->listener.close();  // wakes an acceptor waiting in accept() with EBADF
  if (state_->acceptor) state_->acceptor.kill();  // or one waiting for a Pool slot
  if (!state_->group->join(grace)) state_->group->kill();
  state_->stopped.set();
  state_->acceptor = GreenletRef();  // its function holds the state: break the cycle
}

bool StreamServer::started() const { return state_->started; }
Address StreamServer::address() const { return state_->address; }
std::size_t StreamServer::connections() const { return state_->group->size(); }
std::size_t StreamServer::accepted() const { return state_->accepted; }

}  // namespace gs
