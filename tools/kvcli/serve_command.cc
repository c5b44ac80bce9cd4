// kvcli serve: an HTTP endpoint for the host's stores (doc/serve.md):
// /metrics for Prometheus, /api/stores for programs, / for people. Read-only:
// every request only reads, through the scraper (serve_scrape.h).
#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "kv/util/parse.h"
#include "tools/kvcli/commands.h"
#include "tools/kvcli/output.h"
#include "tools/kvcli/serve_page.h"
#include "tools/kvcli/serve_render.h"
#include "tools/kvcli/serve_scrape.h"

namespace shmkv {
namespace kvcli {
namespace {

constexpr char kChartJs[] = "/usr/share/javascript/chart.js/chart.min.js";
constexpr char kPaths[] = "GET /, /metrics, /api/stores, /api/stores/KEY and /healthz";

struct Listen {
  std::string host = "127.0.0.1";
  int port = 9309;
};

// --listen=HOST:PORT or [IPv6]:PORT; "" when it parses, else the problem.
std::string ParseListen(absl::string_view text, Listen* out) {
  const size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) {
    return "--listen needs HOST:PORT, e.g. --listen=127.0.0.1:9309";
  }
  absl::string_view host = text.substr(0, colon);
  if (absl::StartsWith(host, "[") && absl::EndsWith(host, "]")) {
    host = host.substr(1, host.size() - 2);
  } else if (absl::StrContains(host, ':')) {
    return "--listen takes an IPv6 address in brackets, e.g. --listen=[::1]:9309";
  }
  uint64_t port = 0;
  if (host.empty() || !util::ParseUnsigned(text.substr(colon + 1), 65535, false, &port)) {
    return "--listen needs HOST:PORT with a port from 0 to 65535 (0 picks a free one), e.g. "
           "--listen=127.0.0.1:9309";
  }
  out->host = std::string(host);
  out->port = static_cast<int>(port);
  return "";
}

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || absl::StartsWith(host, "127.");
}

void Text(httplib::Response& res, int status, const std::string& text) {
  res.status = status;
  res.set_content(text + "\n", "text/plain; charset=utf-8");
}

// Every path takes no query string: an unknown or malformed one is refused
// rather than ignored.
bool RefuseQuery(const httplib::Request& req, httplib::Response& res) {
  if (req.params.empty() && req.target.find('?') == std::string::npos) return false;
  Text(res, 400,
       absl::StrCat("400 bad request: ", req.path,
                    " takes no query parameters; remove everything from '?' on"));
  return true;
}

std::string ReadFile(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream body;
  body << in.rdbuf();
  return body.str();
}

// The page and its files, and liveness: nothing here reads a store.
void RoutePages(httplib::Server& server, bool show_keys, const std::string& chart) {
  server.Get("/", [show_keys](const httplib::Request& req, httplib::Response& res) {
    if (RefuseQuery(req, res)) return;
    res.set_content(DashboardHtml(show_keys), "text/html; charset=utf-8");
  });
  server.Get("/dashboard.js", [](const httplib::Request& req, httplib::Response& res) {
    if (RefuseQuery(req, res)) return;
    res.set_content(std::string(DashboardJs()), "text/javascript; charset=utf-8");
  });
  server.Get("/chart.min.js", [&chart](const httplib::Request& req, httplib::Response& res) {
    if (RefuseQuery(req, res)) return;
    if (chart.empty()) {
      return Text(res, 503,
                  absl::StrCat("503 unavailable: ", kChartJs,
                               " is missing; install Debian's libjs-chart.js for the charts"));
    }
    res.set_content(chart, "text/javascript; charset=utf-8");
  });
  // Liveness, for a load balancer or systemd's watchdog: answers without
  // reading any store.
  server.Get("/healthz", [](const httplib::Request& req, httplib::Response& res) {
    if (RefuseQuery(req, res)) return;
    Text(res, 200, "ok");
  });
}

// GET /api/stores/KEY: one store's JSON, or why there is none.
void AnswerStore(Scraper& scraper, bool show_keys, const httplib::Request& req,
                 httplib::Response& res) {
  if (RefuseQuery(req, res)) return;
  const std::string text = req.matches[1];
  absl::StatusOr<key_t> key = util::ParseIpcKey(text);
  if (!key.ok()) {
    return Text(res, 400,
                absl::StrCat("400 bad request: \"", Quote(text),
                             "\" is not a store key; give it as kvcli ls shows it, e.g. "
                             "/api/stores/0x5f3e0001"));
  }
  std::shared_ptr<const HostScrape> host = scraper.Scrape();
  for (const StoreScrape& store : host->stores) {
    if (store.row.segment.key == *key && store.row.status != "removed") {
      return res.set_content(StoreJson(*host, store, show_keys), "application/json");
    }
  }
  Text(res, 404,
       absl::StrCat("404 not found: no store at key ", KeyHex(*key),
                    " on this host; /api/stores (or kvcli ls) lists the stores there are"));
}

// What the stores hold: the metrics and the JSON API.
void RouteData(httplib::Server& server, Scraper& scraper, bool show_keys) {
  server.Get("/metrics", [&scraper](const httplib::Request& req, httplib::Response& res) {
    if (RefuseQuery(req, res)) return;
    std::shared_ptr<const HostScrape> host = scraper.Scrape();
    res.set_content(MetricsText(*host, scraper.scrapes(), scraper.errors_total()),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
  server.Get("/api/stores", [&scraper](const httplib::Request& req, httplib::Response& res) {
    if (RefuseQuery(req, res)) return;
    res.set_content(StoresJson(*scraper.Scrape()), "application/json");
  });
  server.Get(R"(/api/stores/([^/]*))",
             [&scraper, show_keys](const httplib::Request& req, httplib::Response& res) {
               AnswerStore(scraper, show_keys, req, res);
             });
}

// Every other request: refused with a status that says what to do.
void RouteRefusals(httplib::Server& server) {
  auto read_only = [](const httplib::Request& req, httplib::Response& res) {
    res.set_header("Allow", "GET, HEAD");
    Text(res, 405,
         absl::StrCat("405 method not allowed: kvcli serve is read-only; ", req.method, " ",
                      req.path, " changes nothing (use ", kPaths, ")"));
  };
  server.Post(".*", read_only);
  server.Put(".*", read_only);
  server.Patch(".*", read_only);
  server.Delete(".*", read_only);
  server.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404) {
      return Text(
          res, 404,
          absl::StrCat("404 not found: \"", Quote(req.path), "\"; kvcli serve answers ", kPaths));
    }
    if (res.status == 414) {
      return Text(res, 414,
                  "414 URI too long: kvcli serve's paths are short (" + std::string(kPaths) + ")");
    }
    Text(res, res.status,
         absl::StrCat(res.status, res.status == 400 ? " bad request" : " error",
                      ": kvcli serve answers ", kPaths));
  });
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        Text(res, 500, "500 internal error: the request failed; kvcli serve goes on serving");
      });
}

// The routes: what each path answers.
void Route(httplib::Server& server, Scraper& scraper, bool show_keys, const std::string& chart) {
  RoutePages(server, show_keys, chart);
  RouteData(server, scraper, show_keys);
  RouteRefusals(server);
}

// Reads --listen, --lock-timeout and --sizes-every; a usage exit code on a bad one, or -1.
int ReadServeFlags(Context& ctx, Listen* listen, ScrapeOptions* options) {
  if (const std::string* text = ctx.Get("listen"); text != nullptr) {
    if (std::string problem = ParseListen(*text, listen); !problem.empty()) {
      return ctx.Usage(problem);
    }
  }
  if (absl::Status s = ctx.DurationFlag("lock-timeout", &options->lock_timeout); !s.ok()) {
    return ctx.Usage(s.message());
  }
  if (options->lock_timeout <= absl::ZeroDuration()) {
    return ctx.Usage("--lock-timeout must be positive");
  }
  if (absl::Status s = ctx.DurationFlag("sizes-every", &options->walk_every); !s.ok()) {
    return ctx.Usage(s.message());
  }
  return -1;
}

// Warns when the dashboard will have no charts, or the address is reachable
// from other hosts.
void WarnAboutSetup(Context& ctx, const Listen& listen, bool show_keys, bool has_chart) {
  if (!has_chart) {
    ctx.Warn(absl::StrCat(kChartJs,
                          " is missing: the dashboard shows no charts until Debian's "
                          "libjs-chart.js is installed"));
  }
  if (!IsLoopback(listen.host)) {
    ctx.Warn(absl::StrCat("listening on ", listen.host,
                          ", not loopback: whoever reaches it sees every store's name, sizes and "
                          "counters",
                          show_keys ? " and the largest entries' keys" : "",
                          "; --listen=127.0.0.1:9309 keeps it on this host"));
  }
}

// Binds `server` to `listen`; the port bound (listen.port, or the one the
// kernel chose for 0), or 0 when it cannot listen there.
int Bind(httplib::Server& server, const Listen& listen) {
  // SO_REUSEADDR alone: httplib's default adds SO_REUSEPORT, with which a
  // second kvcli serve on the same port would share it instead of failing.
  int listen_fd = -1;
  server.set_socket_options([&listen_fd](int fd) {
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listen_fd = fd;
  });
  int port = listen.port;
  const bool bound = port == 0 ? (port = server.bind_to_any_port(listen.host)) > 0
                               : server.bind_to_port(listen.host, port);
  if (!bound) return 0;
  // httplib listens with a backlog of 5: a burst of scrapers would see
  // connections refused or reset. Listening again only raises it.
  if (listen_fd >= 0) ::listen(listen_fd, SOMAXCONN);
  return port;
}

// Serves until SIGINT or SIGTERM; false when serving stopped on an error
// instead.
bool ServeUntilStopped(httplib::Server& server) {
  // SIGINT and SIGTERM are blocked in every thread (the server's threads
  // start after this) and taken by sigwait in one: no handler shares a flag
  // across threads.
  sigset_t stop_set;
  sigemptyset(&stop_set);
  sigaddset(&stop_set, SIGINT);
  sigaddset(&stop_set, SIGTERM);
  sigset_t old_set;
  pthread_sigmask(SIG_BLOCK, &stop_set, &old_set);
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&stop_set, &sig);
    stopped.store(true);
    server.stop();
  });
  const bool served = server.listen_after_bind();
  if (!stopped.load()) pthread_kill(stopper.native_handle(), SIGTERM);  // ends its sigwait
  stopper.join();
  pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  return served || stopped.load();
}

}  // namespace

int RunServe(Context& ctx) {
  Listen listen;
  ScrapeOptions options;
  if (int exit_code = ReadServeFlags(ctx, &listen, &options); exit_code >= 0) return exit_code;
  if (ctx.dry_run()) return kExitOk;
  const bool show_keys = ctx.Has("show-keys");
  const std::string chart = ReadFile(kChartJs);
  WarnAboutSetup(ctx, listen, show_keys, !chart.empty());
  Scraper scraper(options);
  httplib::Server server;
  server.set_read_timeout(5, 0);
  server.set_write_timeout(5, 0);
  server.set_payload_max_length(64 * 1024);
  Route(server, scraper, show_keys, chart);
  const int port = Bind(server, listen);
  if (port == 0) {
    return ctx.Fail(kExitStore, absl::StrCat("cannot listen on ", listen.host, ":", listen.port,
                                             " (in use, or not an address of this host); pick "
                                             "another with --listen=HOST:PORT"));
  }
  const std::string url = absl::StrCat(
      "http://",
      absl::StrContains(listen.host, ':') ? absl::StrCat("[", listen.host, "]") : listen.host, ":",
      port, "/");
  ctx.Write(absl::StrCat("serving the host's stores on ", url, " (metrics at ", url,
                         "metrics); Ctrl-C stops\n"));
  if (!ctx.FlushOut()) return ctx.Fail(kExitStore, "cannot write to stdout");
  if (!ServeUntilStopped(server)) {
    return ctx.Fail(kExitStore, absl::StrCat("stopped serving on ", url, " after an error"));
  }
  return kExitOk;
}

}  // namespace kvcli
}  // namespace shmkv
