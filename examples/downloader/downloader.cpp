// downloader: the download_photos program of the gevent talk ("A tale of
// concurrency through creativity in Python", PyCon 2016), with real HTTP:
//
//   monkey.patch_all()
//
//   def download_photos(user):
//       conn = get_auth_connection(user)
//       photos = get_photos(conn)
//       save_photos(user, photos)
//
//   def downloader():
//       pool = [gevent.spawn(download_photos, user) for user in get_users()]
//       gevent.joinall(pool)
//
// The client code below is plain blocking libcurl (curl_easy_perform), as
// unaware of greenlets as the talk's code is of gevent: gs::patch_all() makes
// its socket calls cooperative, so the users' downloads overlap.
//
// The "photo service" it talks to runs in this process, on a second thread
// with its own hub: a gs::StreamServer that answers every request after
// --latency-ms (default 100), like a far-away server.
//
//   downloader [--latency-ms N] [--keep] [--no-patch]
//     --keep      leave the saved photos in /tmp/downloader-XXXXXX
//     --no-patch  skip gs::patch_all(): the same code then runs one request
//                 at a time, each curl_easy_perform blocking the whole thread
#include <curl/curl.h>
#include <greenscope/runtime.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::chrono::milliseconds g_latency{100};
int g_requests = 0;  // round trips the client made (all on the main thread)

// ---- The photo service (server side) ------------------------------------------
// GET /auth?user=U        -> a token for U
// GET /photos             -> U's photo names, one a line (needs the token)
// GET /photo/NAME         -> the photo's bytes (needs the token)
// field() is what follows `prefix` in a request head, up to a space or the
// end of the line; "" if the prefix is not there.
std::string field(const std::string& head, const std::string& prefix) {
  const auto at = head.find(prefix);
  if (at == std::string::npos) return "";
  const auto from = at + prefix.size();
  return head.substr(from, head.find_first_of(" \r", from) - from);
}

std::string route(const std::string& head, int& status) {
  const std::string path = field(head, "GET ");
  const std::string user = field(head, "Authorization: Bearer token-");
  status = 200;
  if (path.starts_with("/auth?user=")) return "token-" + field(path, "/auth?user=");
  if (user.empty()) {
    status = 401;
    return "log in first\n";
  }
  if (path == "/photos") return user + "-beach.jpg\n" + user + "-cat.jpg\n" + user + "-cake.jpg\n";
  if (path.starts_with("/photo/")) return "\xFF\xD8" + std::string(4096 * (1 + path.size() % 7), 'x');
  status = 404;
  return "no such thing\n";
}

// serve_http() answers one keep-alive connection's requests in turn.
void serve_http(gs::Socket& conn, const gs::Address& /*peer*/) {
  std::string in;
  for (;;) {
    std::size_t end;
    while ((end = in.find("\r\n\r\n")) == std::string::npos) {
      const std::string chunk = conn.recv(4096);
      if (chunk.empty()) return;  // the client hung up
      in += chunk;
    }
    const std::string head = in.substr(0, end);
    in.erase(0, end + 4);
    int status = 0;
    const std::string body = route(head, status);
    gs::sleep(g_latency);  // the network and the far-away server
    conn.sendall("HTTP/1.1 " + std::to_string(status) + (status == 200 ? " OK" : " Error") +
                 "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  }
}

// PhotoService runs the server on its own thread and hub until destroyed.
class PhotoService {
 public:
  PhotoService() {
    std::promise<unsigned short> ready;
    auto port = ready.get_future();
    thread_ = std::thread([this, &ready] {
      gs::Event stop;
      gs::StreamServer server(gs::Address::ip("127.0.0.1", 0), serve_http);
      server.start();
      hub_ = &gs::get_hub();
      stop_ = &stop;
      ready.set_value(server.address().port());
      stop.wait();
      server.stop();
    });
    port_ = port.get();
  }
  ~PhotoService() {
    gs::Event* stop = stop_;
    gs::run_callback_threadsafe(*hub_, [stop] { stop->set(); });
    thread_.join();
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

 private:
  std::thread thread_;
  gs::Hub* hub_ = nullptr;
  gs::Event* stop_ = nullptr;
  unsigned short port_ = 0;
};

// ---- The talk's program (client side): blocking libcurl ----------------------
// Where the talk's functions find the service and the download folder.
const PhotoService* g_service = nullptr;
fs::path g_dir;

struct Connection {  // one curl handle: it keeps its TCP connection alive
  CURL* curl = nullptr;
  curl_slist* headers = nullptr;
  ~Connection() {
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
  }
};

struct Photo {
  std::string name;
  std::string bytes;
};

std::size_t append(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

std::string get(Connection& conn, const std::string& path) {
  std::string body;
  curl_easy_setopt(conn.curl, CURLOPT_URL, g_service->url(path).c_str());
  curl_easy_setopt(conn.curl, CURLOPT_WRITEDATA, &body);
  ++g_requests;
  const CURLcode rc = curl_easy_perform(conn.curl);  // blocks this greenlet only
  long status = 0;
  curl_easy_getinfo(conn.curl, CURLINFO_RESPONSE_CODE, &status);
  if (rc != CURLE_OK || status != 200) {
    throw std::runtime_error("GET " + path + ": " + (rc != CURLE_OK ? curl_easy_strerror(rc) : body));
  }
  return body;
}

std::vector<std::string> get_users() {
  return {"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj"};
}

std::unique_ptr<Connection> get_auth_connection(const std::string& user) {
  auto conn = std::make_unique<Connection>();
  conn->curl = curl_easy_init();
  curl_easy_setopt(conn->curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(conn->curl, CURLOPT_WRITEFUNCTION, &append);
  const std::string token = get(*conn, "/auth?user=" + user);
  conn->headers = curl_slist_append(nullptr, ("Authorization: Bearer " + token).c_str());
  curl_easy_setopt(conn->curl, CURLOPT_HTTPHEADER, conn->headers);
  return conn;
}

std::vector<Photo> get_photos(Connection& conn) {
  std::vector<Photo> photos;
  const std::string list = get(conn, "/photos");
  for (std::size_t at = 0, nl; (nl = list.find('\n', at)) != std::string::npos; at = nl + 1) {
    const std::string name = list.substr(at, nl - at);
    photos.push_back(Photo{name, get(conn, "/photo/" + name)});
  }
  return photos;
}

std::size_t save_photos(const std::string& user, const std::vector<Photo>& photos) {
  const fs::path dir = g_dir / user;
  fs::create_directories(dir);
  std::size_t bytes = 0;
  for (const Photo& p : photos) {
    std::ofstream(dir / p.name, std::ios::binary) << p.bytes;
    bytes += p.bytes.size();
  }
  std::printf("  %-8s %zu photos, %3zu KiB -> %s\n", user.c_str(), photos.size(), bytes / 1024, dir.c_str());
  return bytes;
}

std::size_t download_photos(const std::string& user) {
  auto conn = get_auth_connection(user);
  const auto photos = get_photos(*conn);
  return save_photos(user, photos);
}

}  // namespace

int main(int argc, char** argv) {
  bool keep = false, patch = true;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--keep") == 0) {
      keep = true;
    } else if (std::strcmp(argv[i], "--no-patch") == 0) {
      patch = false;
    } else if (std::strcmp(argv[i], "--latency-ms") == 0 && i + 1 < argc) {
      g_latency = std::chrono::milliseconds(std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: %s [--latency-ms N] [--keep] [--no-patch]\n", argv[0]);
      return 2;
    }
  }
  char dir_template[] = "/tmp/downloader-XXXXXX";
  if (::mkdtemp(dir_template) == nullptr) {
    std::perror("downloader: mkdtemp");
    return 1;
  }
  g_dir = dir_template;

  curl_global_init(CURL_GLOBAL_DEFAULT);
  PhotoService service;
  g_service = &service;
  if (patch) gs::patch_all();  // monkey.patch_all()

  const auto start = Clock::now();
  std::vector<gs::Greenlet<std::size_t>> pool;
  for (const std::string& user : get_users()) pool.push_back(gs::spawn(download_photos, user));
  gs::joinall(pool);
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();

  std::size_t bytes = 0;
  int failed = 0;
  for (auto& g : pool) {
    try {
      bytes += g.get();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "downloader: %s\n", e.what());
      ++failed;
    }
  }
  const double serial = g_requests * std::chrono::duration<double>(g_latency).count();
  std::printf("downloader: %zu users, %d HTTP requests of %lld ms, %zu KiB in %.3f s %s patch_all\n", pool.size(),
              g_requests, static_cast<long long>(g_latency.count()), bytes / 1024, wall, patch ? "with" : "without");
  if (patch) {
    std::printf("downloader: one after another they would take at least %.3f s (%d x %lld ms); "
                "--no-patch measures it\n",
                serial, g_requests, static_cast<long long>(g_latency.count()));
  }
  if (keep) {
    std::printf("downloader: the photos are in %s\n", g_dir.c_str());
  } else {
    fs::remove_all(g_dir);
    std::printf("downloader: removed %s (--keep keeps it)\n", g_dir.c_str());
  }
  gs::unpatch_all();
  curl_global_cleanup();
  return failed == 0 ? 0 : 1;
}
