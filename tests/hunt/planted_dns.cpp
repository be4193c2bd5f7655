// planted_dns.cpp: DNS through gethostbyname() without patch_all(),
// deterministic and offline. The program runs its own name server: a
// thread answering UDP on 127.0.0.1 (an ephemeral port), and points its
// resolver at it by editing _res after res_init() (glibc honours an
// application's changes to _res; no file, no root, no network). The server
// answers the planted query after a known delay, so gethostbyname() blocks
// the hub's thread in poll() for that long, as a slow or distant resolver
// would make it.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "greenscope/runtime.h"
#include "planted.h"

namespace hunt {
namespace {

std::atomic<long> g_delay_ms{0};
constexpr const char* kName = "slow.hunt.test.";  // absolute: no search domains, one query

// answer() turns the query in `buf` (n bytes) into an answer with one A
// record, 10.13.0.13; the new length.
std::size_t answer(unsigned char* buf, std::size_t n, std::size_t cap) {
  if (n < 12) return 0;
  buf[2] = 0x81;  // QR, opcode 0, RD
  buf[3] = 0x80;  // RA, no error
  buf[6] = 0;     // ANCOUNT 1
  buf[7] = 1;
  buf[8] = buf[9] = buf[10] = buf[11] = 0;  // no authority, no additional (drops EDNS)
  std::size_t at = 12;
  while (at < n && buf[at] != 0) at += buf[at] + 1u;
  at += 1 + 4;  // the name's end, QTYPE, QCLASS
  if (at > n) return 0;
  static const unsigned char kRecord[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 13, 0, 13};
  if (at + sizeof kRecord > cap) return 0;
  std::memcpy(buf + at, kRecord, sizeof kRecord);
  return at + sizeof kRecord;
}

void serve(int fd) {
  for (;;) {
    unsigned char buf[512];
    sockaddr_in from{};
    socklen_t from_len = sizeof from;
    const ssize_t n = ::recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n <= 0) continue;
    std::this_thread::sleep_for(std::chrono::milliseconds(g_delay_ms.load()));
    const std::size_t len = answer(buf, static_cast<std::size_t>(n), sizeof buf);
    if (len > 0) ::sendto(fd, buf, len, 0, reinterpret_cast<sockaddr*>(&from), from_len);
  }
}

// hunt_resolve() is the bug: a name lookup with the C library's blocking
// resolver on the hub's thread.
[[gnu::noinline]] bool hunt_resolve(const char* name) {
  const hostent* h = ::gethostbyname(name);
  return h != nullptr && h->h_length == 4 && static_cast<unsigned char>(h->h_addr_list[0][0]) == 10;
}

void prepare_dns(const Options&) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("hunt_planted: dns server socket");
    std::exit(1);
  }
  std::thread(serve, fd).detach();
  res_init();
  _res.nscount = 1;
  _res.nsaddr_list[0] = addr;
  _res.options &= ~static_cast<unsigned long>(RES_DNSRCH | RES_DEFNAMES);
  _res.retrans = 10;  // seconds: one try, never timed out before the answer
  _res.retry = 1;
  // The first lookup reads nsswitch.conf, hosts, resolv.conf: done here,
  // before the runtime starts, and answered at once.
  if (!hunt_resolve(kName)) {
    std::fprintf(stderr, "hunt_planted: the local name server did not resolve %s\n", kName);
    std::exit(1);
  }
}

Truth plant_dns(const Options& o) {
  g_delay_ms = static_cast<long>(o.length.count());
  Truth t = in_planted_greenlet([](Truth& x) {
    Measure m;
    const bool ok = hunt_resolve(kName);
    m.stop(x);
    if (!ok) std::exit(1);
  });
  t.function = "hunt_resolve";
  t.expect = "blocked";
  t.calls = "poll,ppoll,recvfrom";
  return t;
}

}  // namespace

void add_dns_kind(std::vector<Kind>& out) { out.push_back({"dns", prepare_dns, plant_dns}); }

}  // namespace hunt
