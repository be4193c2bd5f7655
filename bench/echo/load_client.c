/* load_client.c: closed-loop TCP echo load generator for bench/io_compare.sh.
 *
 *   gs_echo_load_client HOST PORT CONNECTIONS MSG_BYTES SECONDS [WARMUP_SECONDS [SERVER_PID]]
 *
 * Opens CONNECTIONS TCP connections to HOST:PORT (TCP_NODELAY on the client
 * side). Each connection sends one MSG_BYTES message, waits until the whole
 * MSG_BYTES echo is back (checking its bytes), then sends the next: a closed
 * loop, one message in flight per connection. One thread, level-triggered
 * epoll, non-blocking sockets, so the client costs as little CPU as possible
 * on the cores it shares with the server.
 *
 * The first WARMUP_SECONDS (default 2) are not counted; then round trips are
 * counted for SECONDS. Prints one line of key=value pairs:
 *
 *   round_trips_per_sec=... round_trips=... seconds=... connections=...
 *   msg_bytes=... min_conn=... max_conn=... client_cpu_sec=... system_busy_sec=...
 *   [server_cpu_sec=...]
 *
 * min_conn/max_conn are the fewest/most round trips one connection made in
 * the measured window (a fairness check); client_cpu_sec is the client's own
 * user+system CPU time in the measured window; with SERVER_PID, server_cpu_sec
 * is that process's (all its threads') user+system CPU time in the same
 * window, from /proc/PID/stat (clock-tick resolution). system_busy_sec is
 * the CPU time all processes used in the window (all cores, /proc/stat), so
 * that busy - client - server shows whether anything else ran.
 *
 * After the window it stops sending, waits for the echoes in flight, and
 * closes. Exits non-zero on any error, a closed connection, or an echo that
 * differs from what was sent.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
  int fd;
  size_t sent;      /* bytes of the current message sent so far */
  size_t received;  /* bytes of its echo received so far */
  uint64_t trips;   /* completed round trips (all time) */
  uint64_t trips_at_start;
  unsigned char seq; /* varies the message content per round trip */
  int want_out;      /* EPOLLOUT registered (a partial send is pending) */
};

static size_t g_msg;
static unsigned char* g_out; /* per-connection message buffers, g_msg each */
static unsigned char* g_in;  /* one receive buffer */
static int g_ep;
static int g_draining; /* measured window over: finish in-flight echoes, send no more */

static void die(const char* what) {
  fprintf(stderr, "load_client: %s: %s\n", what, strerror(errno));
  exit(1);
}

static double now_sec(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void set_events(struct conn* c, uint32_t events) {
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = events;
  ev.data.ptr = c;
  if (epoll_ctl(g_ep, EPOLL_CTL_MOD, c->fd, &ev) != 0) die("epoll_ctl(MOD)");
}

/* msg_of() is connection i's outgoing buffer. */
static unsigned char* msg_of(struct conn* conns, struct conn* c) { return g_out + (size_t)(c - conns) * g_msg; }

/* send_some() sends what is left of the current message, as much as the
 * socket takes; the rest goes out on EPOLLOUT. */
static void send_some(struct conn* conns, struct conn* c) {
  unsigned char* m = msg_of(conns, c);
  while (c->sent < g_msg) {
    ssize_t n = send(c->fd, m + c->sent, g_msg - c->sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!c->want_out) {
          set_events(c, EPOLLIN | EPOLLOUT);
          c->want_out = 1;
        }
        return;
      }
      die("send");
    }
    c->sent += (size_t)n;
  }
  if (c->want_out) {
    set_events(c, EPOLLIN);
    c->want_out = 0;
  }
}

/* start_message() fills the next message and sends it. */
static void start_message(struct conn* conns, struct conn* c) {
  unsigned char* m = msg_of(conns, c);
  c->seq++;
  for (size_t i = 0; i < g_msg; ++i) m[i] = (unsigned char)(c->seq + i);
  c->sent = 0;
  c->received = 0;
  send_some(conns, c);
}

/* on_readable() reads what has arrived of the echo; a complete echo starts
 * the next message. */
static void on_readable(struct conn* conns, struct conn* c) {
  for (;;) {
    if (c->received == g_msg) return; /* idle: draining after the window */
    if (c->received >= c->sent) {
      /* The server echoes only what it got: more bytes than sent is a bug. */
      if (c->received > c->sent) {
        fprintf(stderr, "load_client: more bytes echoed than sent\n");
        exit(1);
      }
      if (c->sent < g_msg) return; /* wait for EPOLLOUT to send the rest */
    }
    ssize_t n = recv(c->fd, g_in, g_msg - c->received, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      die("recv");
    }
    if (n == 0) {
      fprintf(stderr, "load_client: the server closed connection %d\n", (int)(c - conns));
      exit(1);
    }
    if (memcmp(g_in, msg_of(conns, c) + c->received, (size_t)n) != 0) {
      fprintf(stderr, "load_client: the echo differs from the message sent\n");
      exit(1);
    }
    c->received += (size_t)n;
    if (c->received == g_msg) {
      c->trips++;
      if (g_draining) return;
      start_message(conns, c);
      return; /* level-triggered: if the echo is already back, epoll says so */
    }
  }
}

static void handle_event(struct conn* conns, const struct epoll_event* ev) {
  struct conn* c = ev->data.ptr;
  if (ev->events & (EPOLLERR | EPOLLHUP)) {
    /* send or recv reports the error or the EOF (and exits) */
    if (c->sent < g_msg) send_some(conns, c);
    on_readable(conns, c);
    return;
  }
  if ((ev->events & EPOLLOUT) && c->sent < g_msg) send_some(conns, c);
  if (ev->events & EPOLLIN) on_readable(conns, c);
}

/* proc_cpu_sec() is utime+stime of process `pid` in seconds, or -1. */
static double proc_cpu_sec(long pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  FILE* f = fopen(path, "r");
  if (f == NULL) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  /* Fields after the command name (which may hold spaces) start after ')'. */
  char* p = strrchr(buf, ')');
  if (p == NULL) return -1;
  unsigned long long utime = 0, stime = 0;
  /* state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime */
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2) return -1;
  return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* system_busy_sec() is the CPU time used on all cores since boot (everything
 * but idle and iowait), from the first line of /proc/stat; -1 on error. */
static double system_busy_sec(void) {
  FILE* f = fopen("/proc/stat", "r");
  if (f == NULL) return -1;
  unsigned long long v[8] = {0};
  const int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                       &v[6], &v[7]);
  fclose(f);
  if (n < 4) return -1;
  const unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
  return (double)busy / (double)sysconf(_SC_CLK_TCK);
}

static int fcntl_nonblock(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  return flags == -1 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

static int connect_to(const char* host, const char* port) {
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo(host, port, &hints, &res);
  if (rc != 0) {
    fprintf(stderr, "load_client: getaddrinfo(%s, %s): %s\n", host, port, gai_strerror(rc));
    exit(1);
  }
  int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
  if (fd < 0) die("socket");
  if (connect(fd, res->ai_addr, res->ai_addrlen) != 0) die("connect");
  freeaddrinfo(res);
  int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) die("setsockopt(TCP_NODELAY)");
  if (fcntl_nonblock(fd) != 0) die("fcntl(O_NONBLOCK)");
  return fd;
}

int main(int argc, char** argv) {
  if (argc < 6 || argc > 8) {
    fprintf(stderr, "usage: %s HOST PORT CONNECTIONS MSG_BYTES SECONDS [WARMUP_SECONDS [SERVER_PID]]\n", argv[0]);
    return 2;
  }
  const char* host = argv[1];
  const char* port = argv[2];
  const int nconn = atoi(argv[3]);
  g_msg = (size_t)atol(argv[4]);
  const double seconds = atof(argv[5]);
  const double warmup = argc >= 7 ? atof(argv[6]) : 2.0;
  const long server_pid = argc >= 8 ? atol(argv[7]) : 0;
  if (nconn <= 0 || g_msg == 0 || seconds <= 0 || warmup < 0) {
    fprintf(stderr, "load_client: connections, message size and seconds must be > 0\n");
    return 2;
  }

  struct conn* conns = calloc((size_t)nconn, sizeof *conns);
  g_out = malloc((size_t)nconn * g_msg);
  g_in = malloc(g_msg);
  struct epoll_event* events = calloc((size_t)nconn, sizeof *events);
  if (!conns || !g_out || !g_in || !events) die("malloc");
  g_ep = epoll_create1(EPOLL_CLOEXEC);
  if (g_ep < 0) die("epoll_create1");

  /* Connect everything first, then start all loops. */
  for (int i = 0; i < nconn; ++i) {
    conns[i].fd = connect_to(host, port);
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.ptr = &conns[i];
    if (epoll_ctl(g_ep, EPOLL_CTL_ADD, conns[i].fd, &ev) != 0) die("epoll_ctl(ADD)");
  }
  for (int i = 0; i < nconn; ++i) start_message(conns, &conns[i]);

  const double t0 = now_sec(CLOCK_MONOTONIC);
  const double t_measure = t0 + warmup;
  const double t_end = t_measure + seconds;
  int measuring = warmup == 0;
  double start = t0, start_cpu = now_sec(CLOCK_PROCESS_CPUTIME_ID);
  double start_server_cpu = server_pid > 0 ? proc_cpu_sec(server_pid) : -1;
  double start_busy = system_busy_sec();
  unsigned iterations = 0;

  for (;;) {
    int n = epoll_wait(g_ep, events, nconn, 100);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; ++i) handle_event(conns, &events[i]);
    /* The clock is read every 16 wakeups (or on an idle one): cheap and
     * still well under a millisecond of boundary error. */
    if ((++iterations & 15) != 0 && n > 0) continue;
    const double t = now_sec(CLOCK_MONOTONIC);
    if (!measuring && t >= t_measure) {
      measuring = 1;
      start = t;
      start_cpu = now_sec(CLOCK_PROCESS_CPUTIME_ID);
      if (server_pid > 0) start_server_cpu = proc_cpu_sec(server_pid);
      start_busy = system_busy_sec();
      for (int i = 0; i < nconn; ++i) conns[i].trips_at_start = conns[i].trips;
    }
    if (measuring && t >= t_end) {
      const double elapsed = t - start;
      const double cpu = now_sec(CLOCK_PROCESS_CPUTIME_ID) - start_cpu;
      const double server_cpu = server_pid > 0 ? proc_cpu_sec(server_pid) - start_server_cpu : -1;
      const double busy = system_busy_sec() - start_busy;
      uint64_t total = 0, min_c = UINT64_MAX, max_c = 0;
      for (int i = 0; i < nconn; ++i) {
        const uint64_t d = conns[i].trips - conns[i].trips_at_start;
        total += d;
        if (d < min_c) min_c = d;
        if (d > max_c) max_c = d;
      }
      printf("round_trips_per_sec=%.0f round_trips=%llu seconds=%.3f connections=%d msg_bytes=%zu "
             "min_conn=%llu max_conn=%llu client_cpu_sec=%.3f system_busy_sec=%.3f",
             (double)total / elapsed, (unsigned long long)total, elapsed, nconn, g_msg,
             (unsigned long long)min_c, (unsigned long long)max_c, cpu, busy);
      if (server_pid > 0) {
        if (start_server_cpu < 0 || server_cpu < 0) {
          fprintf(stderr, "load_client: cannot read /proc/%ld/stat\n", server_pid);
          return 1;
        }
        printf(" server_cpu_sec=%.3f", server_cpu);
      }
      printf("\n");
      fflush(stdout);
      break;
    }
  }
  /* Let every in-flight echo come back before closing (for at most 1 s), so
   * that no connection is reset with unread data and servers log no errors. */
  g_draining = 1;
  const double drain_end = now_sec(CLOCK_MONOTONIC) + 1.0;
  for (;;) {
    int busy = 0;
    for (int i = 0; i < nconn; ++i) busy += conns[i].received < g_msg;
    if (busy == 0 || now_sec(CLOCK_MONOTONIC) > drain_end) break;
    int n = epoll_wait(g_ep, events, nconn, 10);
    for (int i = 0; i < n; ++i) handle_event(conns, &events[i]);
  }
  for (int i = 0; i < nconn; ++i) close(conns[i].fd);
  close(g_ep);
  free(events);
  free(g_in);
  free(g_out);
  free(conns);
  return 0;
}
