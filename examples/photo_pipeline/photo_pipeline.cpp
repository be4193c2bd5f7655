// photo_pipeline: the download_photos program of the gevent talk (see
// docs/runtime.md), on greenscope's runtime. A greenlet per user fetches
// that user's photos through a Pool; a saver greenlet drains a Queue; one
// user's server is too slow and a gs::Timeout cuts it off. Network latency is
// simulated with gs::sleep() until cooperative sockets land (issue 3).
//
// It also hides a bug, the kind greenscope is for: one user's photos are
// large originals, and the saver makes their thumbnails on the hub's thread
// with a CPU-bound loop that never yields, freezing every other greenlet for
// tens of milliseconds each time. `greenscope stalls` finds it (scripts/demo.sh).
//
//   photo_pipeline [--users N] [--pool N] [--latency-ms N]
#include <greenscope/runtime.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  int users = 20;
  int pool = 8;
  int latency_ms = 40;
};

struct Photo {
  std::string user;
  int index;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const int v = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--users") == 0) o.users = v;
    else if (std::strcmp(argv[i], "--pool") == 0) o.pool = v;
    else if (std::strcmp(argv[i], "--latency-ms") == 0) o.latency_ms = v;
    else {
      std::fprintf(stderr, "usage: %s [--users N] [--pool N] [--latency-ms N]\n", argv[0]);
      std::exit(2);
    }
  }
  if (o.users < 1 || o.pool < 1 || o.latency_ms < 0) {
    std::fprintf(stderr, "photo_pipeline: --users and --pool must be >= 1, --latency-ms >= 0\n");
    std::exit(2);
  }
  return o;
}

// fetch() stands for one network round trip.
void fetch(const Options& o, int factor = 1) { gs::sleep(std::chrono::milliseconds(o.latency_ms * factor)); }

// download_photos() is the talk's function: authenticate, list, queue saves.
// queued counts the photos put on the save queue: a user cut off by its
// Timeout may have queued some already.
int queued = 0;

int download_photos(const Options& o, const std::string& user, gs::Queue<Photo>& saves) {
  const bool slow_server = user == "user-7";
  gs::Timeout deadline(std::chrono::milliseconds(o.latency_ms * 5));
  fetch(o, slow_server ? 10 : 1);  // get_auth_connection(user)
  fetch(o);                        // get_photos(conn)
  const int photos = 3;
  for (int i = 0; i < photos; ++i) {
    saves.put(Photo{user, i});
    ++queued;
  }
  return photos;
}

// encode_thumbnail() is the hidden bug: pure CPU work on the hub's thread,
// about 30 ms here per large photo, during which no other greenlet runs.
[[gnu::noinline]] std::uint32_t encode_thumbnail(const Photo& p) {
  std::uint32_t h = 2166136261u + static_cast<std::uint32_t>(p.index);
  for (std::uint32_t i = 0; i < 40'000'000u; ++i) h = (h ^ i) * 16777619u;
  return h;
}

// save_photo() stands for writing the photo and its thumbnail.
[[gnu::noinline]] void save_photo(const Photo& p, std::uint32_t& checksum) {
  gs::sleep(1ms);  // save_photos(user, photos): the write itself
  const bool large_originals = p.user == "user-3";
  if (large_originals) checksum ^= encode_thumbnail(p);
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const auto start = Clock::now();

  gs::Queue<Photo> saves(16);
  int saved = 0;
  std::uint32_t checksum = 0;
  auto saver = gs::spawn([&] {
    for (;;) {
      Photo p = saves.get();
      save_photo(p, checksum);
      ++saved;
      saves.task_done();
    }
  });
  saver.set_name("saver");

  gs::Pool pool(static_cast<std::size_t>(o.pool));
  std::vector<gs::Greenlet<int>> users;
  for (int u = 0; u < o.users; ++u) {
    const std::string user = "user-" + std::to_string(u);
    auto g = pool.spawn([&o, &saves, user] { return download_photos(o, user, saves); });
    g.set_name(user);
    users.push_back(g);
  }
  pool.join();
  saves.join();
  saver.kill();

  // A user's own count is not summed: one cut off by its Timeout has no
  // result but may have queued photos, so `queued` is what is checked.
  int timed_out = 0;
  for (auto& g : users) {
    try {
      g.get();
    } catch (const gs::TimeoutError&) {
      ++timed_out;
      std::printf("  %-8s timed out (its server is slow): cut off by gs::Timeout\n", g.name().c_str());
    }
  }
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  const double serial = o.users * 2.0 * o.latency_ms / 1000.0;
  std::printf("photo_pipeline: %d users through a pool of %d greenlets: %d photos saved, "
              "%d user(s) timed out\n",
              o.users, o.pool, saved, timed_out);
  std::printf("photo_pipeline: wall time %.3f s; the same round trips one after another "
              "would take %.3f s\n",
              wall, serial);
  return queued == saved ? 0 : 1;  // every queued photo was saved
}
