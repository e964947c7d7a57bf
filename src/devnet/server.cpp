// The devnet's HTTP server: a thread per connection with blocking Beast reads (the devnet serves
// a handful of local clients; simple beats clever here), one lock around every service call,
// seeded fault injection and the /_devnet control routes.
#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <list>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <nlohmann/json.hpp>

#include "devnet/devnet.h"

namespace socialai::devnet {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using json = nlohmann::json;
using tcp = asio::ip::tcp;

std::optional<std::string> Request::param(const std::string& name) const {
  const auto it = query.find(name);
  if (it == query.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::string Request::header(const std::string& lower_name) const {
  const auto it = headers.find(lower_name);
  return it == headers.end() ? std::string{} : it->second;
}

Response Response::json(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.body = body.dump();
  return r;
}

Response Response::text(int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = "text/plain";
  r.body = std::move(body);
  return r;
}

Response Service::control(const Request&) {
  return Response::json(404, {{"error", "no such control route"}});
}

std::string Options::str(const std::string& key, const std::string& fallback) {
  used_.insert(key);
  const auto it = values_.find(key);
  return it == values_.end() ? fallback : it->second;
}

std::int64_t Options::integer(const std::string& key, std::int64_t fallback) {
  const std::string v = str(key, "");
  if (v.empty()) {
    return fallback;
  }
  std::size_t used = 0;
  const long long n = std::stoll(v, &used);
  if (used != v.size()) {
    throw std::invalid_argument("--" + key + ": not an integer: " + v);
  }
  return n;
}

double Options::real(const std::string& key, double fallback) {
  const std::string v = str(key, "");
  if (v.empty()) {
    return fallback;
  }
  std::size_t used = 0;
  const double d = std::stod(v, &used);
  if (used != v.size()) {
    throw std::invalid_argument("--" + key + ": not a number: " + v);
  }
  return d;
}

bool Options::boolean(const std::string& key, bool fallback) {
  const std::string v = str(key, "");
  if (v.empty()) {
    return fallback;
  }
  if (v == "true" || v == "1" || v == "yes") {
    return true;
  }
  if (v == "false" || v == "0" || v == "no") {
    return false;
  }
  throw std::invalid_argument("--" + key + ": expected true or false, got " + v);
}

std::vector<std::string> Options::unused() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : values_) {
    if (used_.count(k) == 0) {
      out.push_back(k);
    }
  }
  return out;
}

std::vector<Fault> parse_fault_kinds(const std::string& list) {
  std::vector<Fault> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    const std::string k = list.substr(start, comma - start);
    if (k == "429") {
      out.push_back(Fault::kTooManyRequests);
    } else if (k == "5xx" || k == "500") {
      out.push_back(Fault::kServerError);
    } else if (k == "truncate" || k == "truncated") {
      out.push_back(Fault::kTruncated);
    } else if (k == "malformed") {
      out.push_back(Fault::kMalformed);
    } else if (!k.empty()) {
      throw std::invalid_argument("unknown fault kind '" + k +
                                  "' (expected 429, 5xx, truncate, malformed)");
    }
    start = comma + 1;
  }
  return out;
}

std::string fault_name(Fault f) {
  switch (f) {
    case Fault::kTooManyRequests:
      return "429";
    case Fault::kServerError:
      return "5xx";
    case Fault::kTruncated:
      return "truncate";
    case Fault::kMalformed:
      return "malformed";
  }
  return "?";
}

namespace {

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  std::size_t start = 0;
  while (start < q.size()) {
    const std::size_t amp = std::min(q.find('&', start), q.size());
    const std::string_view pair = q.substr(start, amp - start);
    const std::size_t eq = pair.find('=');
    if (!pair.empty()) {
      if (eq == std::string_view::npos) {
        out[percent_decode(pair)] = "";
      } else {
        out[percent_decode(pair.substr(0, eq))] = percent_decode(pair.substr(eq + 1));
      }
    }
    start = amp + 1;
  }
  return out;
}

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

std::string head_of(const Response& r, std::size_t content_length, bool keep_alive) {
  std::string h = "HTTP/1.1 " + std::to_string(r.status) + " " + reason(r.status) + "\r\n";
  h += "Server: socialai-devnet\r\nContent-Type: " + r.content_type + "\r\n";
  for (const auto& [k, v] : r.headers) {
    h += k + ": " + v + "\r\n";
  }
  h += "Content-Length: " + std::to_string(content_length) + "\r\n";
  h += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  return h;
}

struct Stats {
  std::uint64_t requests = 0;
  std::map<std::string, std::uint64_t> faults;
};

}  // namespace

struct Server::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::mt19937_64 rng;
  FaultConfig defaults;
  std::map<std::string, FaultConfig> per_service;
  std::map<std::string, Stats> stats;
  std::vector<std::unique_ptr<Service>> services;
  std::mutex mu;  // services, rng, fault config and stats
  std::atomic<bool> stopping{false};
  std::mutex conn_mu;
  std::list<std::shared_ptr<tcp::socket>> connections;
  std::condition_variable conn_cv;  // signalled when a connection thread ends
  int active = 0;

  FaultConfig& faults_for(const std::string& service) {
    const auto it = per_service.find(service);
    return it == per_service.end() ? defaults : it->second;
  }

  json fault_json(const FaultConfig& f) const {
    json kinds = json::array();
    for (Fault k : f.kinds) {
      kinds.push_back(fault_name(k));
    }
    return {{"rate", f.rate},
            {"kinds", kinds},
            {"retry_after_s", f.retry_after_s},
            {"latency_ms", f.latency_ms}};
  }

  Response devnet_route(const Request& req) {
    const std::string rest = req.path.substr(std::string("/_devnet").size());
    if (rest == "/health") {
      json names = json::array();
      for (const auto& s : services) {
        names.push_back(s->name());
      }
      return Response::json(200, {{"ok", true}, {"services", names}});
    }
    if (rest == "/stats") {
      json out = json::object();
      for (const auto& [name, s] : stats) {
        out[name] = {{"requests", s.requests}, {"faults", s.faults}};
      }
      return Response::json(200, out);
    }
    if (rest == "/faults") {
      if (req.method == "GET") {
        json out = {{"*", fault_json(defaults)}};
        for (const auto& [name, f] : per_service) {
          out[name] = fault_json(f);
        }
        return Response::json(200, out);
      }
      if (req.method != "POST") {
        return Response::json(405, {{"error", "GET or POST"}});
      }
      const json body = json::parse(req.body, nullptr, false);
      if (!body.is_object()) {
        return Response::json(400, {{"error", "body must be a JSON object"}});
      }
      const std::string service = body.value("service", "*");
      FaultConfig f = service == "*" ? defaults : faults_for(service);
      try {
        f.rate = body.value("rate", f.rate);
        f.retry_after_s = body.value("retry_after_s", f.retry_after_s);
        f.latency_ms = body.value("latency_ms", f.latency_ms);
        if (body.contains("kinds")) {
          std::string list;
          for (const auto& k : body["kinds"]) {
            list += k.get<std::string>() + ",";
          }
          f.kinds = parse_fault_kinds(list);
        }
      } catch (const std::exception& e) {
        return Response::json(400, {{"error", e.what()}});
      }
      if (f.rate < 0 || f.rate > 1) {
        return Response::json(400, {{"error", "rate must be within [0, 1]"}});
      }
      if (service == "*") {
        defaults = f;
        per_service.clear();
      } else {
        per_service[service] = f;
      }
      return Response::json(200, fault_json(f));
    }
    for (const auto& s : services) {
      const std::string prefix = "/" + s->name();
      if (rest == prefix || rest.rfind(prefix + "/", 0) == 0) {
        Request sub = req;
        sub.path = rest.substr(prefix.size());
        return s->control(sub);
      }
    }
    return Response::json(404, {{"error", "unknown devnet route " + req.path}});
  }

  Service* route(Request& req) {
    Service* best = nullptr;
    std::size_t best_len = 0;
    for (const auto& s : services) {
      const std::string m = s->mount();
      const bool hit = req.path == m || req.path.rfind(m + "/", 0) == 0 || m == "/";
      if (hit && m.size() >= best_len) {
        best = s.get();
        best_len = m.size();
      }
    }
    if (best != nullptr && best->mount() != "/") {
      req.path = req.path.substr(best_len);
      if (req.path.empty()) {
        req.path = "/";
      }
    }
    return best;
  }

  // Returns the response plus how many body bytes to actually send (truncation).
  std::pair<Response, std::size_t> dispatch(Request& req, int& latency_ms) {
    std::lock_guard<std::mutex> lock(mu);
    if (req.path.rfind("/_devnet", 0) == 0) {
      Response r = devnet_route(req);
      return {r, r.body.size()};
    }
    Service* svc = route(req);
    if (svc == nullptr) {
      Response r = Response::json(404, {{"error", "no simulated service at " + req.path}});
      return {r, r.body.size()};
    }
    Stats& st = stats[svc->name()];
    ++st.requests;
    const FaultConfig& f = faults_for(svc->name());
    latency_ms = f.latency_ms;
    std::optional<Fault> fault;
    if (f.rate > 0 && !f.kinds.empty()) {
      std::uniform_real_distribution<double> u(0.0, 1.0);
      if (u(rng) < f.rate) {
        fault = f.kinds[std::uniform_int_distribution<std::size_t>(0, f.kinds.size() - 1)(rng)];
      }
    }
    if (fault == Fault::kTooManyRequests) {
      ++st.faults["429"];
      Response r = Response::json(429, {{"error", "Too Many Requests (devnet fault)"}});
      r.headers.emplace_back("Retry-After", std::to_string(f.retry_after_s));
      return {r, r.body.size()};
    }
    if (fault == Fault::kServerError) {
      ++st.faults["5xx"];
      static const int kCodes[] = {500, 502, 503};
      Response r = Response::text(kCodes[st.faults["5xx"] % 3], "devnet injected server error");
      return {r, r.body.size()};
    }
    Response r;
    try {
      r = svc->handle(req);
    } catch (const std::exception& e) {
      r = Response::json(500, {{"error", std::string("devnet service failed: ") + e.what()}});
    }
    if (fault == Fault::kMalformed && !r.body.empty()) {
      ++st.faults["malformed"];
      r.body = r.body.substr(0, r.body.size() / 2) + "\x01<!-- not json";
      return {r, r.body.size()};
    }
    if (fault == Fault::kTruncated && r.body.size() > 1) {
      ++st.faults["truncate"];
      return {r, r.body.size() / 2};
    }
    return {r, r.body.size()};
  }

  void serve(std::shared_ptr<tcp::socket> sock) {
    boost::beast::flat_buffer buffer;
    boost::system::error_code ec;
    while (!stopping) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(64 * 1024 * 1024);
      http::read(*sock, buffer, parser, ec);
      if (ec) {
        break;
      }
      const auto& msg = parser.get();
      Request req;
      req.method = std::string(msg.method_string());
      req.target = std::string(msg.target());
      const std::size_t q = req.target.find('?');
      req.path = percent_decode(std::string_view(req.target).substr(0, q));
      if (q != std::string::npos) {
        req.query = parse_query(std::string_view(req.target).substr(q + 1));
      }
      for (const auto& field : msg) {
        std::string name(field.name_string());
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        req.headers[name] = std::string(field.value());
      }
      req.body = msg.body();
      const bool keep_alive = msg.keep_alive();
      int latency_ms = 0;
      auto [resp, send_bytes] = dispatch(req, latency_ms);
      if (latency_ms > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(latency_ms));
      }
      const bool truncated = send_bytes < resp.body.size();
      std::string out = head_of(resp, resp.body.size(), keep_alive && !truncated);
      out.append(resp.body, 0, send_bytes);
      asio::write(*sock, asio::buffer(out), ec);
      if (ec || truncated || !keep_alive) {
        break;
      }
    }
    sock->shutdown(tcp::socket::shutdown_both, ec);
    sock->close(ec);
    std::lock_guard<std::mutex> lock(conn_mu);
    connections.remove(sock);
    --active;
    conn_cv.notify_all();
  }
};

Server::Server(const std::string& host, int port, std::uint64_t seed, FaultConfig defaults)
    : impl_(std::make_unique<Impl>()) {
  impl_->rng.seed(seed ^ 0x5eedfa17ULL);
  impl_->defaults = std::move(defaults);
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  if (ec) {
    throw std::runtime_error("bad listen address '" + host + "': " + ec.message());
  }
  const tcp::endpoint ep(addr, static_cast<unsigned short>(port));
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(ep, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port) + ": " +
                             ec.message());
  }
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
}

Server::~Server() {
  stop();
  std::unique_lock<std::mutex> lock(impl_->conn_mu);
  impl_->conn_cv.wait(lock, [this] { return impl_->active == 0; });
}

void Server::add(std::unique_ptr<Service> service) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->services.push_back(std::move(service));
}

int Server::port() const { return impl_->acceptor.local_endpoint().port(); }

void Server::run() {
  while (!impl_->stopping) {
    auto sock = std::make_shared<tcp::socket>(impl_->io);
    boost::system::error_code ec;
    impl_->acceptor.accept(*sock, ec);
    if (ec) {
      if (impl_->stopping) {
        break;
      }
      continue;
    }
    sock->set_option(tcp::no_delay(true), ec);
    {
      std::lock_guard<std::mutex> lock(impl_->conn_mu);
      if (impl_->stopping) {
        break;
      }
      impl_->connections.push_back(sock);
      ++impl_->active;
    }
    std::thread(&Impl::serve, impl_.get(), sock).detach();
  }
}

void Server::stop() {
  if (impl_->stopping.exchange(true)) {
    return;
  }
  boost::system::error_code ec;
  // shutdown(2) wakes the blocking accept() in run(); closing from another thread would race.
  ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
  std::lock_guard<std::mutex> lock(impl_->conn_mu);
  for (auto& s : impl_->connections) {
    s->shutdown(tcp::socket::shutdown_both, ec);
  }
}

}  // namespace socialai::devnet
