// Farcaster ingest benchmark (SPEC §10: ≥ 20,000 casts/s written, ≥ 10× a row-by-row loop):
// the worker's sync (devnet over HTTP → JSON → unnest upserts) beside row-by-row INSERT loops of
// the same casts, in one run on the same PostgreSQL. `--quick` is a small pass for ctest.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "common/http_client.h"
#include "common/migrate.h"
#include "devnet_process.h"
#include "test_db.h"
#include "workers/farcaster/farcaster_sync.h"

namespace {

using namespace socialai;
using namespace socialai::farcaster;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::unique_ptr<Db> fresh_db(const testing::TestSchema& schema) {
  auto db = std::make_unique<Db>(schema.url());
  if (!db->connect(nullptr, 3)) {
    throw std::runtime_error("cannot connect to the test database");
  }
  apply_migrations(db->conn(), embedded_migrations());
  return db;
}

// Every cast of fids 1..users, parsed exactly as the worker parses them (not timed).
std::vector<CastRow> fetch_casts(const std::string& hub, int users) {
  HttpClient http;
  std::vector<CastRow> out;
  for (int fid = 1; fid <= users; ++fid) {
    std::string token;
    for (;;) {
      std::string url = hub + "/v1/castsByFid?pageSize=1000&fid=" + std::to_string(fid);
      if (!token.empty()) {
        std::string esc;
        for (char c : token) {
          esc += c == '+' ? "%2B" : c == '/' ? "%2F" : c == '=' ? "%3D" : std::string(1, c);
        }
        url += "&pageToken=" + esc;
      }
      const HttpResponse r = http.get(url);
      if (!r.ok()) {
        throw std::runtime_error("devnet: " + std::to_string(r.status) + " " + r.error);
      }
      Page p = parse_page(r.body);
      out.insert(out.end(), p.casts.begin(), p.casts.end());
      if (p.next_page_token.empty() || p.messages == 0) {
        break;
      }
      token = p.next_page_token;
    }
  }
  return out;
}

constexpr const char* kInsertOne = R"sql(
INSERT INTO external_posts (source, external_id, author_external_id, community, content,
                            parent_external_id, created_at, raw)
VALUES ('farcaster', $1, $2, $3, $4, $5, to_timestamp($6), $7::jsonb)
ON CONFLICT (source, external_id) DO NOTHING)sql";

// One INSERT per cast; each in its own transaction (autocommit) or all in one.
double row_by_row(Db& db, const std::vector<CastRow>& casts, bool one_transaction) {
  const auto t0 = Clock::now();
  if (one_transaction) {
    db.with_transaction([&](pqxx::work& tx) {
      for (const auto& c : casts) {
        db.exec(tx, kInsertOne, c.hash, std::to_string(c.fid), c.parent_url, c.text,
                c.parent_hash, c.unix_ts, c.raw);
      }
    });
  } else {
    for (const auto& c : casts) {
      db.with_transaction([&](pqxx::work& tx) {
        db.exec(tx, kInsertOne, c.hash, std::to_string(c.fid), c.parent_url, c.text,
                c.parent_hash, c.unix_ts, c.raw);
      });
    }
  }
  return static_cast<double>(casts.size()) / seconds_since(t0);
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const char* url = std::getenv("SOCIALAI_TEST_DATABASE_URL");
  if (url == nullptr || *url == '\0') {
    std::printf("farcaster_bench: SOCIALAI_TEST_DATABASE_URL not set; skipped\n");
    return 0;
  }
  spdlog::set_level(spdlog::level::warn);
  int users = quick ? 10 : 50;
  int casts_per_user = quick ? 300 : 4000;
  for (int i = 1; i + 1 < argc; ++i) {  // --users N / --casts N override the sizes
    if (std::strcmp(argv[i], "--users") == 0) {
      users = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--casts") == 0) {
      casts_per_user = std::atoi(argv[++i]);
    }
  }
  const std::size_t loop_rows = quick ? 1000 : 10000;
  try {
    testing::DevnetProcess devnet({"--farcaster-users", std::to_string(users),
                                   "--farcaster-casts-per-user", std::to_string(casts_per_user),
                                   "--farcaster-reactions-per-user", "0",
                                   "--farcaster-url-reactions-per-user", "0",
                                   "--farcaster-follows-per-user", "0", "--farcaster-removes",
                                   "0"});
    const std::string hub = devnet.url("/farcaster");

    // Fetching everything once first fills the simulator's render cache (so the sync below
    // measures the worker, not the simulator's JSON building) and gives the loops their rows.
    fetch_casts(hub, users);
    auto tf = Clock::now();
    std::vector<CastRow> casts = fetch_casts(hub, users);
    const double fetch_rate = static_cast<double>(casts.size()) / seconds_since(tf);
    // The database side alone: the worker's upsert in pages of 1000, one transaction each.
    double upsert_rate = 0;
    {
      testing::TestSchema upsert_schema;
      auto udb = fresh_db(upsert_schema);
      FarcasterStore store(*udb);
      tf = Clock::now();
      for (std::size_t i = 0; i < casts.size(); i += 1000) {
        const std::vector<CastRow> batch(casts.begin() + static_cast<std::ptrdiff_t>(i),
                                         casts.begin() + static_cast<std::ptrdiff_t>(
                                                             std::min(casts.size(), i + 1000)));
        udb->with_transaction([&](pqxx::work& tx) { store.upsert_casts(tx, batch); });
      }
      upsert_rate = static_cast<double>(casts.size()) / seconds_since(tf);
    }

    testing::TestSchema sync_schema;
    auto db = fresh_db(sync_schema);
    HubSettings s;
    s.hub_url = hub;
    s.page_size = 1000;
    for (int f = 1; f <= users; ++f) {
      s.fids.push_back(static_cast<std::uint64_t>(f));
    }
    HubSync sync(*db, "farcaster", s);
    sync.dialect();
    std::int64_t written = 0;
    const auto t0 = Clock::now();
    for (std::uint64_t fid : sync.fids_to_sync()) {
      const auto t_fid = Clock::now();
      const FidResult r = sync.sync_fid(fid);
      written += r.casts_written;
      if (std::getenv("FARCASTER_BENCH_VERBOSE") != nullptr) {
        std::printf("fid %llu: %lld casts, %lld pages, %.3f s\n", static_cast<unsigned long long>(fid),
                    static_cast<long long>(r.casts), static_cast<long long>(r.pages),
                    seconds_since(t_fid));
      }
    }
    const double sync_s = seconds_since(t0);
    const double sync_rate = static_cast<double>(written) / sync_s;

    const std::size_t all_casts = casts.size();
    if (casts.size() > loop_rows) {
      casts.resize(loop_rows);
    }
    testing::TestSchema loop_schema;
    auto loop_db = fresh_db(loop_schema);
    const double autocommit_rate = row_by_row(*loop_db, casts, false);
    loop_db->with_transaction([&](pqxx::work& tx) { loop_db->exec(tx, "TRUNCATE external_posts"); });
    const double one_tx_rate = row_by_row(*loop_db, casts, true);

    std::printf("\n### Farcaster ingest (%s: %d fids × %d casts, page 1000)\n\n",
                quick ? "quick" : "full", users, casts_per_user);
    std::printf("| method | casts | casts/s | worker ÷ method |\n|---|---:|---:|---:|\n");
    std::printf("| worker sync (devnet HTTP → JSON → unnest upsert, 1 tx/page) | %lld | %.0f | 1.0× |\n",
                static_cast<long long>(written), sync_rate);
    std::printf("| (part) devnet HTTP + JSON parse only, one client | %zu | %.0f | |\n",
                all_casts, fetch_rate);
    std::printf("| (part) unnest upsert only, 1000 rows per transaction | %zu | %.0f | |\n",
                all_casts, upsert_rate);
    std::printf("| row-by-row INSERT, one transaction per row | %zu | %.0f | %.1f× |\n",
                casts.size(), autocommit_rate, sync_rate / autocommit_rate);
    std::printf("| row-by-row INSERT, all in one transaction | %zu | %.0f | %.1f× |\n",
                casts.size(), one_tx_rate, sync_rate / one_tx_rate);
    std::printf("\nworker sync: %.2f s for %lld casts; SPEC target ≥ 20000 casts/s and ≥ 10× "
                "row-by-row: %s\n",
                sync_s, static_cast<long long>(written),
                sync_rate >= 20000 && sync_rate >= 10 * autocommit_rate ? "met" : "NOT met");
    if (written != static_cast<std::int64_t>(users) * casts_per_user) {
      std::fprintf(stderr, "farcaster_bench: wrote %lld casts, expected %lld\n",
                   static_cast<long long>(written),
                   static_cast<long long>(users) * casts_per_user);
      return 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "farcaster_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
