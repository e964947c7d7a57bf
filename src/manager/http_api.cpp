// HttpApi: Beast listener and sessions (do_read starts, on_read completes, ec first).
#include "manager/http_api.h"

#include <atomic>
#include <chrono>
#include <map>
#include <optional>
#include <set>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace socialai::manager {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr auto kRequestTimeout = std::chrono::seconds(10);
constexpr auto kHeaderTimeout = std::chrono::seconds(5);

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string url_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}
}  // namespace

ApiReply json_error(int status, const std::string& message) {
  ApiReply r;
  r.status = status;
  r.body = nlohmann::json{{"error", message}}.dump(-1, ' ', false,
                                                   nlohmann::json::error_handler_t::replace);
  return r;
}

void parse_target(std::string_view target, ApiRequest& out) {
  const auto q = target.find('?');
  out.path = url_decode(target.substr(0, q));
  if (q != std::string_view::npos) {
    std::string_view qs = target;
    qs.remove_prefix(q + 1);
    while (!qs.empty()) {
      const auto amp = qs.find('&');
      const auto part = qs.substr(0, amp);
      const auto eq = part.find('=');
      out.query[url_decode(part.substr(0, eq))] =
          eq == std::string_view::npos ? "" : url_decode(part.substr(eq + 1));
      if (amp == std::string_view::npos) break;
      qs.remove_prefix(amp + 1);
    }
  }
}

class Session;

struct HttpApi::Impl : std::enable_shared_from_this<HttpApi::Impl> {
  Impl(asio::io_context& c, ApiHandler h) : ioc(c), acceptor(c), handler(std::move(h)) {}
  asio::io_context& ioc;
  tcp::acceptor acceptor;
  ApiHandler handler;
  std::set<Session*> sessions;
  std::map<std::string, std::size_t> per_peer;  // open sessions by client address
  bool stopped = false;
  bool loopback = false;
  std::size_t waiting = 0;  // sessions in a long poll
  std::uint64_t evicted = 0;
  std::chrono::steady_clock::time_point last_evict_log{};

  void do_accept();
  // Makes room for one more connection from `peer`: true when there is room (possibly after
  // closing the session that has waited longest for its header), false when every session
  // in the way is busy with a request.
  bool make_room(const std::string& peer);
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<HttpApi::Impl> api, std::string peer,
          bool loopback)
      : stream_(std::move(socket)), api_(std::move(api)), peer_(std::move(peer)),
        loopback_(loopback) {}

  void start() {
    api_->sessions.insert(this);
    ++api_->per_peer[peer_];
    do_read();
  }

  void close() {
    if (closed_) {
      return;
    }
    end_wait();
    closed_ = true;
    waiting_for_header_ = false;
    boost::system::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  ~Session() {
    end_wait();
    api_->sessions.erase(this);
    if (auto it = api_->per_peer.find(peer_); it != api_->per_peer.end() && --it->second == 0) {
      api_->per_peer.erase(it);
    }
  }

  const std::string& peer() const { return peer_; }
  // Waiting for (the rest of) a request header since `waiting_since()`: may be evicted.
  bool waiting_for_header() const { return waiting_for_header_; }
  std::chrono::steady_clock::time_point waiting_since() const { return waiting_since_; }

 private:
  // The header first, under a short deadline (a slow or silent client is dropped quickly);
  // then the body under the request deadline.
  void do_read() {
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(kMaxBodyBytes);
    waiting_for_header_ = true;
    waiting_since_ = std::chrono::steady_clock::now();
    stream_.expires_after(kHeaderTimeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              self->on_header(ec);
                            });
  }

  void on_header(beast::error_code ec) {
    waiting_for_header_ = false;
    if (ec || parser_->is_done()) {
      return on_read(ec);
    }
    stream_.expires_after(kRequestTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code e, std::size_t) {
                       self->on_read(e);
                     });
  }

  void on_read(beast::error_code ec) {
    if (closed_ || ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset) {
      return close();
    }
    if (ec) {
      const int status = (ec == http::error::header_limit)  ? 431
                         : (ec == http::error::body_limit) ? 413
                                                             : 400;
      return send(json_error(status, "bad request: " + ec.message()), /*keep_alive=*/false);
    }
    auto& req = parser_->get();
    ApiRequest r;
    r.method = std::string(req.method_string());
    if (req.method() == http::verb::head) {
      r.method = "GET";  // routed as GET; send() leaves the body out
      r.head = true;
    }
    parse_target(std::string_view(req.target().data(), req.target().size()), r);
    auto header = [&req](http::field f) {
      const auto it = req.find(f);
      return it == req.end() ? std::string() : std::string(it->value());
    };
    r.authorization = header(http::field::authorization);
    r.host = header(http::field::host);
    r.origin = header(http::field::origin);
    if (const auto it = req.find("Sec-Fetch-Site"); it != req.end()) {
      r.fetch_site = std::string(it->value());
    }
    r.body = std::move(req.body());
    r.peer = peer_;
    r.peer_loopback = loopback_;
    r.listener_loopback = api_->loopback;
    ApiReply reply;
    try {
      reply = api_->handler(r);
    } catch (const std::exception& e) {
      spdlog::error("http: handler for {} {} failed: {}", r.method, r.path, e.what());
      reply = json_error(500, "internal error");
    }
    head_ = r.head;
    if (reply.wait) {
      return start_wait(std::move(reply.wait), req.keep_alive());
    }
    send(std::move(reply), req.keep_alive());
  }

  // A long poll: watch first, then poll, so whatever happens in between wakes us. The wake
  // may come from any thread; one post in flight is enough however often it fires.
  void start_wait(std::shared_ptr<ApiWait> wait, bool keep_alive) {
    if (api_->waiting >= kMaxWaiting) {
      auto busy = json_error(503, "too many waiting requests (at most " +
                                      std::to_string(kMaxWaiting) + "); retry later");
      busy.headers["Retry-After"] = "1";
      return send(std::move(busy), keep_alive);
    }
    ++api_->waiting;
    wait_ = std::move(wait);
    wait_keep_alive_ = keep_alive;
    auto pending = std::make_shared<std::atomic<bool>>(false);
    std::weak_ptr<Session> weak = shared_from_this();
    auto executor = stream_.get_executor();
    watch_ = wait_->watch([weak, executor, pending] {
      if (!pending->exchange(true)) {
        asio::post(executor, [weak, pending] {
          pending->store(false);
          if (const auto self = weak.lock()) {
            self->poll_wait(false);
          }
        });
      }
    });
    stream_.expires_never();  // the timer below bounds the wait; send() sets a deadline again
    timer_.expires_after(wait_->timeout);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) {
        self->poll_wait(true);
      }
    });
    poll_wait(false);
  }

  void poll_wait(bool final) {
    if (!wait_ || closed_) {
      return;
    }
    std::optional<ApiReply> reply;
    try {
      reply = wait_->poll(final);
    } catch (const std::exception& e) {
      spdlog::error("http: long poll failed: {}", e.what());
      reply = json_error(500, "internal error");
    }
    if (!reply && final) {
      reply = json_error(500, "internal error");
    }
    if (reply) {
      end_wait();
      send(std::move(*reply), wait_keep_alive_);
    }
  }

  void end_wait() {
    if (!wait_) {
      return;
    }
    watch_.reset();
    wait_.reset();
    timer_.cancel();
    --api_->waiting;
  }

  void send(ApiReply reply, bool keep_alive) {
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(reply.status), 11);
    res->set(http::field::server, "socialai-manager");
    res->set(http::field::content_type, reply.content_type);
    res->set(http::field::cache_control, "no-store");
    res->set("X-Content-Type-Options", "nosniff");
    for (const auto& [k, v] : reply.headers) {
      res->set(k, v);
    }
    res->keep_alive(keep_alive);
    if (head_) {
      res->content_length(reply.body.size());  // what GET would send, without the bytes
    } else {
      res->body() = std::move(reply.body);
      res->prepare_payload();
    }
    head_ = false;
    stream_.expires_after(kRequestTimeout);
    // Bytes of pipelined requests stay in buffer_ (async_read consumed only this request's),
    // so the next do_read() answers them in order.
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                        if (ec || !res->keep_alive()) {
                          return self->close();
                        }
                        self->do_read();
                      });
  }

  beast::tcp_stream stream_;
  asio::steady_timer timer_{stream_.get_executor()};
  std::shared_ptr<ApiWait> wait_;  // set while a long poll waits
  std::shared_ptr<void> watch_;
  bool wait_keep_alive_ = false;
  beast::flat_buffer buffer_{kMaxHeaderBytes + kMaxBodyBytes};
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<HttpApi::Impl> api_;
  std::string peer_;
  bool loopback_ = false;
  bool head_ = false;
  bool closed_ = false;
  bool waiting_for_header_ = false;
  std::chrono::steady_clock::time_point waiting_since_{};
};

bool HttpApi::Impl::make_room(const std::string& peer) {
  const auto it = per_peer.find(peer);
  const bool peer_full = it != per_peer.end() && it->second >= kMaxSessionsPerPeer;
  if (!peer_full && sessions.size() < kMaxSessions) {
    return true;
  }
  Session* victim = nullptr;
  for (Session* s : sessions) {
    if (s->waiting_for_header() && (!peer_full || s->peer() == peer) &&
        (victim == nullptr || s->waiting_since() < victim->waiting_since())) {
      victim = s;
    }
  }
  if (victim == nullptr) {
    return false;
  }
  ++evicted;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_evict_log >= std::chrono::seconds(10)) {  // one line per 10 s under a flood
    spdlog::warn("http: connection limit reached ({} open, {} from {}); closed the one idle "
                 "longest ({} so far)",
                 sessions.size(), it == per_peer.end() ? 0 : it->second, peer, evicted);
    last_evict_log = now;
  }
  victim->close();  // its pending read completes later and frees the slot
  return true;
}

void HttpApi::Impl::do_accept() {
  acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec != asio::error::operation_aborted && !self->stopped) {
        spdlog::warn("http: accept failed: {}", ec.message());
        self->do_accept();
      }
      return;
    }
    boost::system::error_code pec;
    const auto ep = socket.remote_endpoint(pec);
    const std::string peer = pec ? std::string("?") : ep.address().to_string();
    if (!self->make_room(peer)) {
      boost::system::error_code ignored;
      socket.close(ignored);  // every open connection is busy with a request: shed load
    } else {
      std::make_shared<Session>(std::move(socket), self, peer, !pec && ep.address().is_loopback())
          ->start();
    }
    self->do_accept();
  });
}

HttpApi::HttpApi(asio::io_context& ioc, const std::string& listen, ApiHandler handler)
    : impl_(std::make_shared<Impl>(ioc, std::move(handler))) {
  const auto colon = listen.rfind(':');
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || host == "localhost") {
    host = "127.0.0.1";
  }
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  if (ec) {
    throw std::runtime_error("http.listen: bad address \"" + listen + "\"");
  }
  const auto port = static_cast<unsigned short>(std::stoi(listen.substr(colon + 1)));
  const tcp::endpoint ep(addr, port);
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error("http: cannot listen on " + listen + ": " + ec.message());
  }
  impl_->loopback = addr.is_loopback();
}

HttpApi::~HttpApi() { stop(); }

void HttpApi::start() { impl_->do_accept(); }

void HttpApi::stop() {
  if (impl_->stopped) {
    return;
  }
  impl_->stopped = true;
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
  for (Session* s : std::set<Session*>(impl_->sessions)) {
    s->close();
  }
}

bool HttpApi::listening_on_loopback() const { return impl_->loopback; }

unsigned short HttpApi::port() const { return impl_->acceptor.local_endpoint().port(); }

}  // namespace socialai::manager
