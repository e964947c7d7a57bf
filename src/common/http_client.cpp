// libcurl-backed HttpClient: one easy handle per client, retry/backoff policy, rate-limit
// feedback, and scrubbing of secrets from every message it produces.
#include "common/http_client.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include "common/rate_limiter.h"

namespace socialai {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kWaitSlice{50};                    // how often a wait polls should_stop
constexpr double kUnixTimeThreshold = 1e9;                // X-Ratelimit-Reset above this = epoch
constexpr std::chrono::seconds kMaxRatelimitPause{3600};  // a bogus reset cannot stall us longer
constexpr std::size_t kMinSecretLength = 4;               // shorter fragments would mangle messages

std::once_flag g_curl_init_once;

// curl_global_init is not thread-safe and must run before any handle exists. We never call
// curl_global_cleanup: handles may outlive main's locals, and the process exit frees it all.
void init_curl_once() {
  std::call_once(g_curl_init_once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw std::runtime_error("curl_global_init failed");
    }
  });
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string to_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string_view trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && is_space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

std::optional<double> parse_double(std::string_view s) {
  s = trim(s);
  double value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || !(value == value)) {
    return std::nullopt;
  }
  return value;
}

// Header names whose values are credentials.
bool is_sensitive_header(std::string_view name) {
  const std::string lower = to_lower(name);
  for (const char* word : {"auth", "key", "token", "secret", "cookie", "session", "signature"}) {
    if (lower.find(word) != std::string::npos) {
      return true;
    }
  }
  return false;
}

void add_secret(std::vector<std::string>& secrets, std::string_view s) {
  s = trim(s);
  if (s.size() >= kMinSecretLength) {
    secrets.emplace_back(s);
  }
}

// Every fragment of `request` that must not appear in a message: the query and its values,
// userinfo, and sensitive header values (whole, and the credential after a scheme like "Bearer").
std::vector<std::string> secrets_of(const HttpRequest& request) {
  std::vector<std::string> secrets;
  std::string_view url = request.url;
  if (const auto hash = url.find('#'); hash != std::string_view::npos) {
    url = url.substr(0, hash);
  }
  if (const auto q = url.find('?'); q != std::string_view::npos) {
    const std::string_view query = url.substr(q + 1);
    add_secret(secrets, query);
    std::size_t pos = 0;
    while (pos <= query.size()) {
      const std::size_t amp = std::min(query.find('&', pos), query.size());
      const std::string_view pair = query.substr(pos, amp - pos);
      if (const auto eq = pair.find('='); eq != std::string_view::npos) {
        add_secret(secrets, pair.substr(eq + 1));
      }
      pos = amp + 1;
    }
    url = url.substr(0, q);
  }
  if (const auto scheme = url.find("://"); scheme != std::string_view::npos) {
    const std::string_view rest = url.substr(scheme + 3);
    const std::string_view authority = rest.substr(0, rest.find('/'));
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
      const std::string_view userinfo = authority.substr(0, at);
      add_secret(secrets, userinfo);
      if (const auto colon = userinfo.find(':'); colon != std::string_view::npos) {
        add_secret(secrets, userinfo.substr(colon + 1));
      }
    }
  }
  for (const auto& [name, value] : request.headers) {
    if (is_sensitive_header(name)) {
      add_secret(secrets, value);
      if (const auto space = trim(value).rfind(' '); space != std::string_view::npos) {
        add_secret(secrets, trim(value).substr(space + 1));
      }
    }
  }
  // Longest first, so a secret that contains another is replaced whole.
  std::sort(secrets.begin(), secrets.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return secrets;
}

// Replaces every occurrence of every secret in `text` with "…". Belt and braces for texts we do
// not compose ourselves (curl's error buffer).
std::string scrub(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos)) {
      text.replace(pos, secret.size(), "\u2026");
    }
  }
  return text;
}

// Transient transport failures worth another attempt. Everything else (bad URL, TLS
// verification, the size cap, a stop request) would fail the same way again.
bool is_retryable(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_QUIC_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

std::optional<std::string_view> header(const HttpResponse& response, const char* lower_name) {
  const auto it = response.headers.find(lower_name);
  if (it == response.headers.end()) {
    return std::nullopt;
  }
  return std::string_view(it->second);
}

}  // namespace

struct HttpClient::Handle {
  CURL* curl = nullptr;
  char error[CURL_ERROR_SIZE] = {};

  Handle() {
    init_curl_once();
    curl = curl_easy_init();
    if (curl == nullptr) {
      throw std::runtime_error("curl_easy_init failed");
    }
  }
  ~Handle() { curl_easy_cleanup(curl); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
};

// State shared with curl's callbacks for one attempt.
struct HttpClient::Transfer {
  std::string body;
  std::map<std::string, std::string> headers;
  std::size_t max_bytes = 0;
  bool too_big = false;
  const std::function<bool()>* should_stop = nullptr;
  bool stopped = false;

  static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    const std::size_t bytes = size * n;
    if (bytes > t->max_bytes - t->body.size()) {
      t->too_big = true;
      return 0;  // anything other than `bytes` makes curl abort with CURLE_WRITE_ERROR
    }
    t->body.append(data, bytes);
    return bytes;
  }

  static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    const std::size_t bytes = size * n;
    const std::string_view line(data, bytes);
    if (line.starts_with("HTTP/")) {
      t->headers.clear();  // a new response begins (after 100 Continue, say): keep only the last
    } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
      std::string name = to_lower(trim(line.substr(0, colon)));
      const std::string_view value = trim(line.substr(colon + 1));
      auto [it, inserted] = t->headers.try_emplace(std::move(name), value);
      if (!inserted) {
        it->second.append(", ").append(value);
      }
    }
    return bytes;
  }

  static int on_progress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* t = static_cast<Transfer*>(self);
    if (*t->should_stop && (*t->should_stop)()) {
      t->stopped = true;
      return 1;  // CURLE_ABORTED_BY_CALLBACK
    }
    return 0;
  }
};

struct HttpClient::Attempt {
  HttpResponse response;
  bool retryable = false;  // for transport errors; statuses are judged by perform()
  bool stopped = false;
};

HttpClient::HttpClient() : HttpClient(Options{}) {}

HttpClient::HttpClient(Options options)
    : options_(std::move(options)), handle_(std::make_unique<Handle>()) {}

HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

HttpResponse HttpClient::get(std::string url, HttpHeaders headers) {
  return perform(HttpRequest{"GET", std::move(url), std::move(headers), {}});
}

HttpResponse HttpClient::post_json(std::string url, std::string body, HttpHeaders headers) {
  const bool has_type = std::any_of(headers.begin(), headers.end(), [](const auto& h) {
    return to_lower(h.first) == "content-type";
  });
  if (!has_type) {
    headers.emplace_back("Content-Type", "application/json");
  }
  return perform(HttpRequest{"POST", std::move(url), std::move(headers), std::move(body)});
}

HttpResponse HttpClient::perform(const HttpRequest& request) {
  HttpResponse last;
  last.error = "stopped";
  if (stopping()) {
    return last;
  }
  int attempts = 0;
  for (unsigned retry = 0;; ++retry) {
    if (options_.limiter != nullptr && !wait(options_.limiter->reserve())) {
      return last;
    }
    Attempt attempt = perform_once(request);
    HttpResponse& r = attempt.response;
    r.attempts = ++attempts;

    std::optional<milliseconds> honoured;
    if ((r.status == 429 || r.status == 503) && r.retry_after) {
      honoured = std::min(*r.retry_after, options_.backoff.max * kRetryAfterCapFactor);
    }
    feed_limiter(r, honoured);

    const bool retryable = r.status == 0 ? attempt.retryable : (r.status >= 500 || r.status == 429);
    if (!retryable || attempt.stopped || retry >= options_.max_retries) {
      return std::move(r);
    }
    const milliseconds delay =
        honoured ? *honoured : jittered_delay(options_.backoff, retry, random_unit());
    spdlog::warn("http {} {}: {} (attempt {}/{}), retrying in {} ms", request.method,
                 redact_url(request.url),
                 r.status == 0 ? r.error : "status " + std::to_string(r.status), attempts,
                 options_.max_retries + 1, delay.count());
    last = std::move(r);
    if (!wait(delay)) {
      return last;
    }
  }
}

HttpClient::Attempt HttpClient::perform_once(const HttpRequest& request) {
  Attempt attempt;
  HttpResponse& r = attempt.response;
  for (const auto& [name, value] : request.headers) {
    // A CR/LF would let one header smuggle in another (or a second request).
    if (name.find_first_of("\r\n:") != std::string::npos ||
        value.find_first_of("\r\n") != std::string::npos) {
      r.error = "invalid header name or value (CR, LF or ':' in a name)";
      return attempt;
    }
  }
  if (!handle_) {
    handle_ = std::make_unique<Handle>();  // a moved-from client becomes usable again
  }
  CURL* curl = handle_->curl;
  // reset() clears options but keeps the connection cache, so keep-alive survives.
  curl_easy_reset(curl);
  handle_->error[0] = '\0';

  Transfer transfer;
  transfer.max_bytes = options_.max_response_bytes;
  transfer.should_stop = &options_.should_stop;

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for DNS timeouts: we have threads
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");  // the size cap counts decoded bytes
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, handle_->error);
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(options_.max_response_bytes));  // early, by length
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Transfer::on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &Transfer::on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  if (options_.should_stop) {
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &Transfer::on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);
  }

  const std::string method = to_upper(request.method);
  if (method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    if (method != "POST") {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    if (method == "POST" || !request.body.empty()) {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.c_str());
    }
  }

  // "Expect:" off: a 100-continue round trip only adds latency against APIs.
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(nullptr,
                                                                          &curl_slist_free_all);
  const auto append_header = [&header_list](const std::string& line) {
    if (curl_slist* head = curl_slist_append(header_list.get(), line.c_str())) {
      static_cast<void>(header_list.release());  // same list, possibly a new head
      header_list.reset(head);
    }
  };
  append_header("Expect:");
  for (const auto& [name, value] : request.headers) {
    // curl sends "Name;" as a header with an empty value ("Name:" would remove it).
    std::string line = name;
    line.append(value.empty() ? ";" : ": ").append(value);
    append_header(line);
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list.get());

  const CURLcode code = curl_easy_perform(curl);
  r.headers = std::move(transfer.headers);
  if (const auto retry_after = header(r, "retry-after")) {
    r.retry_after = parse_retry_after(*retry_after);
  }
  if (code == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
    r.body = std::move(transfer.body);
    return attempt;
  }
  if (transfer.too_big || code == CURLE_FILESIZE_EXCEEDED) {
    r.error = "response exceeds " + std::to_string(options_.max_response_bytes) + " bytes";
  } else if (transfer.stopped) {
    r.error = "stopped";
    attempt.stopped = true;
  } else {
    const std::string detail = handle_->error[0] != '\0' ? handle_->error : "";
    r.error = scrub(detail.empty() ? curl_easy_strerror(code) : detail, secrets_of(request));
    attempt.retryable = is_retryable(code);
  }
  return attempt;
}

void HttpClient::feed_limiter(const HttpResponse& response,
                              std::optional<milliseconds> honoured_retry_after) {
  RateLimiter* limiter = options_.limiter;
  if (limiter == nullptr) {
    return;
  }
  if (honoured_retry_after) {
    limiter->pause_until(limiter->now() + *honoured_retry_after);
  }
  const auto remaining_text = header(response, "x-ratelimit-remaining");
  const auto reset_text = header(response, "x-ratelimit-reset");
  if (!remaining_text || !reset_text) {
    return;
  }
  const std::optional<double> remaining = parse_double(*remaining_text);
  std::optional<double> reset = parse_double(*reset_text);
  if (!remaining || !reset || *remaining >= 1.0) {
    return;
  }
  if (*reset > kUnixTimeThreshold) {
    const auto epoch_now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch());
    *reset -= epoch_now.count();
  }
  const double seconds = std::clamp(*reset, 0.0, static_cast<double>(kMaxRatelimitPause.count()));
  limiter->pause_until(limiter->now() +
                       std::chrono::ceil<milliseconds>(std::chrono::duration<double>(seconds)));
}

bool HttpClient::stopping() const { return options_.should_stop && options_.should_stop(); }

bool HttpClient::wait(milliseconds delay) const {
  if (!options_.should_stop) {
    if (delay > milliseconds::zero()) {
      std::this_thread::sleep_for(delay);
    }
    return true;
  }
  const auto deadline = std::chrono::steady_clock::now() + delay;
  while (!stopping()) {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) {
      return true;
    }
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(left, kWaitSlice));
  }
  return false;
}

std::optional<milliseconds> parse_retry_after(std::string_view value,
                                              std::chrono::system_clock::time_point now) {
  value = trim(value);
  if (value.empty()) {
    return std::nullopt;
  }
  if (std::all_of(value.begin(), value.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; })) {
    if (value.size() > 9) {  // > 31 years: clamp instead of overflowing
      return std::chrono::duration_cast<milliseconds>(std::chrono::seconds(999999999));
    }
    long long seconds = 0;
    std::from_chars(value.data(), value.data() + value.size(), seconds);
    return std::chrono::duration_cast<milliseconds>(std::chrono::seconds(seconds));
  }
  const std::time_t when = curl_getdate(std::string(value).c_str(), nullptr);
  if (when == -1) {
    return std::nullopt;
  }
  const auto delta = std::chrono::system_clock::from_time_t(when) - now;
  return std::max(milliseconds::zero(), std::chrono::ceil<milliseconds>(delta));
}

std::string url_escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : s) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace socialai
