// Fuzzes the manager's HTTP request handling: Beast's request_parser<string_body> with the
// listener's header/body limits (fed as the socket would: in reads of varying size), the
// mapping of the parsed request to ApiRequest (parse_target: path and ?query decoding), the
// routes of make_api_handler over a real Supervisor (two disabled workers, never started, so
// no process is spawned) and a LogRouter holding a few hostile lines, and check_admin.
//
// Checked for every input: a request is accepted or rejected alike and parsed the same
// whether it arrives in one read or in many small ones; a rejected request maps to 400/413/431; every JSON reply is valid JSON;
// GET /api/workers/{name}/logs?lines=N never returns more than min(N, 1000) lines; mutating
// routes are refused (the fuzz listener is not loopback and has no token); check_admin lets
// through exactly the right bearer token.
//
// Input: the raw bytes a client sends.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <cctype>
#include <string>

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <nlohmann/json.hpp>

#include "common/config.h"
#include "fuzz_support.h"
#include "manager/api_routes.h"
#include "manager/http_api.h"
#include "manager/log_router.h"
#include "manager/supervisor.h"

namespace {

namespace http = boost::beast::http;
using socialai::manager::ApiReply;
using socialai::manager::ApiRequest;

constexpr char kToken[] = "fuzz-admin-token";

struct Parsed {
  bool ok = false;
  int status = 0;  // the listener's reply status when !ok
  std::string method, target, authorization, body;
  bool keep_alive = false;
  bool operator==(const Parsed&) const = default;
};

// Beast's read loop (http::read_some): append what the socket gave, let the parser take
// what it can, read more on need_more, put_eof at the end of the stream. `chunk` > 0 sets the
// size of each read; 0 gives everything at once.
Parsed parse(std::string_view wire, socialai::fuzz::Choices* chunks) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(socialai::manager::kMaxHeaderBytes);
  parser.body_limit(socialai::manager::kMaxBodyBytes);
  std::string buffer;
  boost::beast::error_code ec;
  std::size_t offset = 0;
  while (!parser.is_done()) {
    if (offset < wire.size()) {
      const std::size_t n = chunks ? chunks->next(1, 64) : wire.size();
      buffer.append(wire.substr(offset, std::min(n, wire.size() - offset)));
      offset += std::min(n, wire.size() - offset);
    } else if (parser.got_some()) {
      parser.put_eof(ec);
      break;
    } else {
      ec = http::error::end_of_stream;
      break;
    }
    // The parser may need several calls to take a buffer (header, then body).
    while (!buffer.empty() && !parser.is_done()) {
      const std::size_t used = parser.put(boost::asio::buffer(buffer.data(), buffer.size()), ec);
      buffer.erase(0, used);
      if (ec == http::error::need_more) {
        ec = {};
        break;
      }
      if (ec) {
        break;
      }
    }
    if (ec) {
      break;
    }
  }
  Parsed p;
  if (ec == http::error::end_of_stream) {
    p.status = 0;  // the session just closes
    return p;
  }
  if (ec) {
    p.status = ec == http::error::header_limit ? 431 : ec == http::error::body_limit ? 413 : 400;
    return p;
  }
  const auto& req = parser.get();
  p.ok = true;
  p.method = std::string(req.method_string());
  p.target = std::string(req.target());
  if (const auto it = req.find(http::field::authorization); it != req.end()) {
    p.authorization = std::string(it->value());
  }
  p.body = req.body();
  p.keep_alive = req.keep_alive();
  return p;
}

struct Manager {
  boost::asio::io_context ioc;
  std::unique_ptr<socialai::manager::LogRouter> log;
  std::unique_ptr<socialai::manager::Supervisor> sup;
  socialai::manager::ApiHandler handler;

  Manager() {
    const int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    log = std::make_unique<socialai::manager::LogRouter>(socialai::LogFormat::kText, devnull,
                                                         std::nullopt);
    // Disabled workers are never spawned; the io_context never runs.
    auto config = socialai::parse_config(
        R"({"http": {"listen": "0.0.0.0:4200"},
            "workers": {"alpha": {"enabled": false, "path": "/nonexistent/alpha"},
                        "b%20c": {"enabled": false, "path": "/nonexistent/b"}}})",
        "fuzz.json", [](const std::string&) { return std::nullopt; });
    sup = std::make_unique<socialai::manager::Supervisor>(ioc, std::move(config), *log, "/nonexistent");
    sup->start_all();
    std::vector<socialai::manager::Line> lines;
    socialai::manager::LineSplitter splitter;
    splitter.feed(std::string_view("plain line\n{\"level\":\"info\",\"msg\":\"json\"}\n"
                                   "bad utf8 \xff\xfe\xc3(\n<script>alert(1)</script>\n"
                                   "tab\tcr\r\n"),
                  lines);
    log->write_lines("alpha", socialai::manager::Stream::kStdout, lines);
    log->flush();
    handler = socialai::manager::make_api_handler(
        *sup, *log, {[] { return std::string("reload refused by the fuzz harness"); }, nullptr});
  }
};

Manager& manager() {
  static Manager* m = new Manager();  // never destroyed: LeakSanitizer sees it as reachable
  return *m;
}

bool is_json_reply(const ApiReply& r) { return r.content_type == "application/json"; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view wire = socialai::fuzz::as_view(data, size);
  const Parsed whole = parse(wire, nullptr);
  socialai::fuzz::Choices choices(wire);
  const Parsed pieces = parse(wire, &choices);
  // Accepted or rejected alike, and an accepted request is the same request, with one
  // exception of Beast's: header_limit is counted differently depending on how the header
  // arrives (in one read: the start line and the fields separately; in pieces: what is
  // buffered when each piece is parsed). So a header of between 8 and 16 KiB may pass one way
  // and get 431 the other, in either direction (corpus: regress_header_8203_bytes_one_read,
  // regress_header_over_limit_split_reads_pass). What holds either way: nothing beyond
  // 2 × kMaxHeaderBytes of header is ever accepted. (Which 4xx a rejected request gets may
  // also depend on the read sizes: 400 for a bad start line seen at once, 431 when the limit
  // is reached first.)
  if (whole.ok != pieces.ok || (whole.ok && !(whole == pieces))) {
    std::fprintf(stderr, "one read: ok=%d status=%d; small reads: ok=%d status=%d\n", whole.ok,
                 whole.status, pieces.ok, pieces.status);
  }
  if (whole.ok != pieces.ok && (whole.status == 431 || pieces.status == 431)) {
    const auto header_end = wire.find("\r\n\r\n");
    FUZZ_CHECK(header_end != std::string_view::npos);
    FUZZ_CHECK(header_end + 4 > socialai::manager::kMaxHeaderBytes);
    FUZZ_CHECK(header_end + 4 <= 2 * socialai::manager::kMaxHeaderBytes);
  } else {
    FUZZ_CHECK(whole.ok == pieces.ok);
    FUZZ_CHECK(!whole.ok || whole == pieces);
  }
  if (!whole.ok) {
    FUZZ_CHECK(whole.status == 0 || whole.status == 400 || whole.status == 413 ||
               whole.status == 431);
    return 0;
  }
  FUZZ_CHECK(whole.body.size() <= socialai::manager::kMaxBodyBytes);

  ApiRequest req;
  req.method = whole.method;
  socialai::manager::parse_target(whole.target, req);
  FUZZ_CHECK(req.path.size() <= whole.target.size());
  req.authorization = whole.authorization;
  req.body = whole.body;
  req.peer_loopback = false;
  req.listener_loopback = false;

  Manager& m = manager();
  const ApiReply reply = m.handler(req);
  FUZZ_CHECK(reply.status >= 200 && reply.status < 600);
  if (is_json_reply(reply)) {
    FUZZ_CHECK(nlohmann::json::accept(reply.body));
  }
  const bool control = req.method == "POST" && reply.status == 200;
  FUZZ_CHECK(!control);  // no token and not loopback: never allowed
  if (reply.status == 200 && req.path.find("/logs") != std::string::npos) {
    const auto body = nlohmann::json::parse(reply.body);
    std::size_t limit = 100;
    if (const auto it = req.query.find("lines"); it != req.query.end()) {
      limit = std::stoul(it->second);  // the route accepted it, so it parses
    }
    FUZZ_CHECK(body.at("lines").size() <= std::min<std::size_t>(limit, 1000));
  }

  // check_admin with a token: only the exact bearer token passes, whatever the peer.
  req.peer_loopback = (size & 1) != 0;
  req.listener_loopback = (size & 2) != 0;
  const auto denied = socialai::manager::check_admin(req, kToken);
  // RFC 7235: the scheme is case-insensitive and may be followed by several spaces.
  const std::string& a = req.authorization;
  std::string scheme = a.substr(0, 7);
  for (char& ch : scheme) {
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  const auto cred = a.size() >= 7 ? a.find_first_not_of(' ', 7) : std::string::npos;
  const bool exact = scheme == "bearer " && cred != std::string::npos && a.substr(cred) == kToken;
  FUZZ_CHECK(denied.has_value() != exact);
  if (denied) {
    FUZZ_CHECK(denied->status == 401 || denied->status == 403);
  }
  return 0;
}
