/* libev_echo_server.c: the floor for bench/io_compare.sh's echo benchmark.
 * A plain libev TCP echo server, no greenlets: one ev_io per connection,
 * started once and left on; its callback does one read() and writes back
 * what it read.
 *
 *   libev_echo_server [--port N] [--host ADDR]
 *
 * Prints "listening on HOST:PORT" once it accepts connections (with
 * --port 0, the port the kernel chose), as examples/echo_server does; stops
 * on SIGINT/SIGTERM. Same 64 KiB read buffer as examples/echo_server, the
 * same epoll backend (ev_default_loop(0)), no TCP_NODELAY on accepted
 * sockets (neither gs::StreamServer nor gevent's StreamServer sets it).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct conn {
  ev_io io;
  char* pending;      /* unsent bytes after a short write (rare), or NULL */
  size_t pending_len;
  size_t pending_off;
};

static char g_buf[65536];

static void close_conn(struct ev_loop* loop, struct conn* c) {
  ev_io_stop(loop, &c->io);
  close(c->io.fd);
  free(c->pending);
  free(c);
}

/* flush_pending() writes what a short write left over; 0 when done. */
static int flush_pending(struct conn* c) {
  while (c->pending_off < c->pending_len) {
    ssize_t n = write(c->io.fd, c->pending + c->pending_off, c->pending_len - c->pending_off);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 1;
      return -1;
    }
    c->pending_off += (size_t)n;
  }
  free(c->pending);
  c->pending = NULL;
  return 0;
}

static void on_conn(struct ev_loop* loop, ev_io* w, int revents) {
  struct conn* c = (struct conn*)w;
  if (c->pending != NULL) { /* EV_WRITE: finish the short write, then read again */
    (void)revents;
    const int r = flush_pending(c);
    if (r < 0) {
      close_conn(loop, c);
    } else if (r == 0) {
      ev_io_stop(loop, w);
      ev_io_set(w, w->fd, EV_READ);
      ev_io_start(loop, w);
    }
    return;
  }
  ssize_t n = read(w->fd, g_buf, sizeof g_buf);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    close_conn(loop, c);
    return;
  }
  if (n == 0) {
    close_conn(loop, c);
    return;
  }
  size_t off = 0;
  while (off < (size_t)n) {
    ssize_t m = write(w->fd, g_buf + off, (size_t)n - off);
    if (m < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      close_conn(loop, c);
      return;
    }
    off += (size_t)m;
  }
  if (off < (size_t)n) { /* socket buffer full: keep the rest, wait for EV_WRITE */
    c->pending_len = (size_t)n - off;
    c->pending_off = 0;
    c->pending = malloc(c->pending_len);
    if (c->pending == NULL) {
      close_conn(loop, c);
      return;
    }
    memcpy(c->pending, g_buf + off, c->pending_len);
    ev_io_stop(loop, w);
    ev_io_set(w, w->fd, EV_WRITE);
    ev_io_start(loop, w);
  }
}

static void on_accept(struct ev_loop* loop, ev_io* w, int revents) {
  (void)revents;
  for (;;) {
    int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) perror("libev_echo_server: accept4");
      return;
    }
    struct conn* c = calloc(1, sizeof *c);
    if (c == NULL) {
      close(fd);
      continue;
    }
    ev_io_init(&c->io, on_conn, fd, EV_READ);
    ev_io_start(loop, &c->io);
  }
}

static void on_signal(struct ev_loop* loop, ev_signal* w, int revents) {
  (void)w;
  (void)revents;
  ev_break(loop, EVBREAK_ALL);
}

static int usage(const char* argv0) {
  fprintf(stderr, "usage: %s [--port N] [--host ADDR]\n", argv0);
  return 2;
}

int main(int argc, char** argv) {
  const char* host = "127.0.0.1";
  unsigned long port = 8000;
  for (int i = 1; i < argc; ++i) {
    if (i + 1 >= argc) return usage(argv[0]);
    if (strcmp(argv[i], "--port") == 0) {
      port = strtoul(argv[++i], NULL, 10);
    } else if (strcmp(argv[i], "--host") == 0) {
      host = argv[++i];
    } else {
      return usage(argv[0]);
    }
  }
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
    fprintf(stderr, "libev_echo_server: %s is not a numeric IPv4 address\n", host);
    return 2;
  }
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(lfd, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(lfd, 128) != 0) {
    perror("libev_echo_server: listen");
    return 1;
  }
  socklen_t len = sizeof addr;
  getsockname(lfd, (struct sockaddr*)&addr, &len);
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &addr.sin_addr, text, sizeof text);

  struct ev_loop* loop = ev_default_loop(0);
  ev_io accept_w;
  ev_io_init(&accept_w, on_accept, lfd, EV_READ);
  ev_io_start(loop, &accept_w);
  ev_signal sigint_w, sigterm_w;
  ev_signal_init(&sigint_w, on_signal, SIGINT);
  ev_signal_start(loop, &sigint_w);
  ev_signal_init(&sigterm_w, on_signal, SIGTERM);
  ev_signal_start(loop, &sigterm_w);
  signal(SIGPIPE, SIG_IGN);

  printf("listening on %s:%u\n", text, (unsigned)ntohs(addr.sin_port));
  fflush(stdout);
  ev_run(loop, 0);
  fprintf(stderr, "libev_echo_server: stopped\n");
  return 0;
}
