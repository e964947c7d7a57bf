// SearchSync: claims pending posts in batches, indexes them with set-based SQL on one or more
// connections, isolates bad posts, and prints search results for --query.
#include "workers/search/search_sync.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <iostream>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

namespace socialai {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Lowest ids first: a backlog drains in arrival order. SKIP LOCKED lets other connections and
// instances claim the next rows instead of waiting for ours. `id > $2` (the connection's last
// claimed id) keeps each claim from rescanning the index entries of rows already indexed, which
// stay in the partial index until VACUUM: over a large backlog that rescan grew to 0.5 s a claim.
constexpr const char* kClaimSql = R"sql(
SELECT id FROM external_posts
WHERE search_pending AND id > $2
ORDER BY id
LIMIT $1
FOR UPDATE SKIP LOCKED)sql";

// $1: bigint[] literal of claimed ids. Tags rows are diffed rather than deleted and re-inserted,
// because the CTEs of one statement do not see each other's changes. The stale tags are looked
// up by the claimed ids themselves too, an index condition on tags_item_id whatever the join
// becomes (sql/018_search_indexing.sql).
constexpr const char* kIndexSql = R"sql(
WITH updated AS (
  UPDATE external_posts p SET
    search_vector = setweight(to_tsvector('english', coalesce(p.title, '')), 'A') ||
                    setweight(to_tsvector('english', coalesce(p.content, '')), 'B'),
    tags = socialai_extract_tags(p.title, p.content, p.community),
    search_pending = false
  WHERE p.id = ANY ($1::bigint[])
  RETURNING p.id, p.tags
), stale_tags AS (
  DELETE FROM tags t USING updated u
  WHERE t.item_type = 'post' AND t.item_id = ANY ($1::bigint[]) AND t.item_id = u.id
    AND t.tag <> ALL (u.tags)
), new_tags AS (
  INSERT INTO tags (tag, item_type, item_id)
  SELECT x.tag, 'post', u.id FROM updated u, unnest(u.tags) AS x(tag)
  ON CONFLICT DO NOTHING
)
SELECT count(*) FROM updated)sql";

// ts_stat collects the batch's distinct lexemes in C, several times faster than unnesting the
// vectors; only alphabetic ones are fuzzy-match targets (see sql/002_search.sql). Sorted
// inserts: two connections adding overlapping new words wait for each other, never deadlock.
constexpr const char* kLexemesSql = R"sql(
INSERT INTO search_lexemes (word)
SELECT s.word
FROM ts_stat(format('SELECT search_vector FROM external_posts WHERE id = ANY (%L::bigint[])',
                    $1::text)) AS s
WHERE length(s.word) BETWEEN 3 AND 32 AND s.word ~ '^[[:alpha:]]+$'
  AND NOT EXISTS (SELECT 1 FROM search_lexemes k WHERE k.word = s.word)
ORDER BY s.word
ON CONFLICT DO NOTHING)sql";

constexpr const char* kGiveUpSql = "UPDATE external_posts SET search_pending = false WHERE id = $1";

constexpr int kTransientRetries = 3;

std::string array_literal(const std::vector<std::int64_t>& ids) {
  std::string s = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) {
      s += ',';
    }
    s += std::to_string(ids[i]);
  }
  return s + "}";
}

// The first line of a libpq message, without its "ERROR:  " prefix.
std::string first_line(const std::string& s) {
  std::string line = s.substr(0, s.find('\n'));
  if (line.rfind("ERROR:", 0) == 0) {
    line.erase(0, line.find_first_not_of(' ', 6));
  }
  while (!line.empty() && line.back() == ' ') {
    line.pop_back();
  }
  return line;
}

std::string sqlstate_of(const std::exception& e) {
  const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e);
  return sql != nullptr ? sql->sqlstate() : std::string();
}

// Errors caused by one post's data (class 22 data exception, 54 program limit such as "string
// is too long for tsvector"). Anything else (missing table, permissions, ...) would hit every
// post alike, so it fails the cycle and the rows stay pending instead of being given up.
bool is_item_error(const std::string& sqlstate) {
  return sqlstate.rfind("22", 0) == 0 || sqlstate.rfind("54", 0) == 0;
}

// Deadlock or serialization failure: worth another try inside the same transaction.
bool is_transient(const std::string& sqlstate) { return sqlstate.rfind("40", 0) == 0; }

// Indexes `ids` (a bigint[] literal) inside a savepoint of tx. On an error the savepoint is
// rolled back, so tx stays usable, and the error is rethrown. (Plain SQL savepoints: libpqxx 6's
// subtransaction opens its savepoint lazily and exec_params never triggers it.)
void index_ids(Db& db, pqxx::transaction_base& tx, const std::string& ids) {
  db.exec(tx, "SAVEPOINT search_index");
  try {
    db.exec(tx, kIndexSql, ids);
    db.exec(tx, kLexemesSql, ids);
  } catch (const pqxx::broken_connection&) {
    throw;
  } catch (const std::exception&) {
    db.exec(tx, "ROLLBACK TO SAVEPOINT search_index");
    throw;
  }
  db.exec(tx, "RELEASE SAVEPOINT search_index");
}

// Results of all connections, handed to the cycle's thread, which alone may touch the context.
class Tally {
 public:
  void add(SearchBatch&& b) {
    std::lock_guard<std::mutex> lock(mu_);
    ok_ += b.indexed;
    total_ok_ += b.indexed;
    for (auto& f : b.failed) {
      failed_.push_back(std::move(f));
      ++total_failed_;
    }
  }
  void drain(WorkerContext& ctx) {
    std::int64_t ok = 0;
    std::vector<std::pair<std::string, std::string>> failed;
    {
      std::lock_guard<std::mutex> lock(mu_);
      std::swap(ok, ok_);
      failed.swap(failed_);
    }
    if (ok > 0) {
      ctx.item_ok(ok);
    }
    for (const auto& [ref, error] : failed) {
      ctx.item_failed(ref, error);
    }
  }
  std::int64_t total_ok() const {
    std::lock_guard<std::mutex> lock(mu_);
    return total_ok_;
  }
  std::int64_t total_failed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return total_failed_;
  }

 private:
  mutable std::mutex mu_;
  std::int64_t ok_ = 0, total_ok_ = 0, total_failed_ = 0;
  std::vector<std::pair<std::string, std::string>> failed_;
};

// One claimed batch on `db`, continuing after *after_id. When the end of the queue is reached,
// one more pass starts from the lowest id, for rows re-queued behind the cursor or released by
// a failed claimer. Returns false once a pass from the start finds nothing.
bool drain_step(Db& db, int batch_size, int work_mem_mb, std::int64_t* after_id, Tally* tally) {
  SearchBatch b = SearchSync::index_batch(db, batch_size, *after_id, work_mem_mb);
  if (b.ids.empty()) {
    const bool from_start = *after_id == 0;
    *after_id = 0;
    return !from_start;
  }
  *after_id = b.ids.back();
  tally->add(std::move(b));
  return true;
}

// Merges the full-text index's pending list into the index (sql/017_search_pending_list.sql),
// so searches after a backlog do not scan it. Only the index's owner may; another role leaves
// the merge to autovacuum and the next overflow, and is told once.
void merge_pending_list(Db& db) {
  static std::atomic<bool> warned{false};
  try {
    db.with_transaction([&](pqxx::work& tx) {
      db.exec(tx, "SELECT gin_clean_pending_list(to_regclass('external_posts_search_vector'))");
    });
  } catch (const pqxx::insufficient_privilege& e) {
    if (!warned.exchange(true)) {
      spdlog::warn("search index pending list not merged ({}); autovacuum merges it",
                   first_line(e.what()));
    }
  }
}

int clamp_setting(WorkerContext& ctx, const std::string& key, std::int64_t fallback,
                  std::int64_t lo, std::int64_t hi) {
  return static_cast<int>(std::clamp(ctx.setting_int(key, fallback), lo, hi));
}

// Terminal-safe cell: control characters become spaces, long text is cut with "...".
std::string cell(std::string s, std::size_t width) {
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      c = ' ';
    }
  }
  if (s.size() > width) {
    std::size_t cut = width - 3;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) {
      --cut;  // do not split a UTF-8 sequence
    }
    s = s.substr(0, cut) + "...";
  }
  return s;
}

std::string pad(const std::string& s, std::size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size() + 1, ' ');
}

// ts_headline marks hits with <b>...</b>; on a terminal *...* reads better.
std::string plain_headline(std::string s) {
  for (const char* tag : {"<b>", "</b>"}) {
    for (auto pos = s.find(tag); pos != std::string::npos; pos = s.find(tag, pos)) {
      s.replace(pos, std::char_traits<char>::length(tag), "*");
    }
  }
  return s;
}

void print_table(std::ostream& out, const std::vector<std::string>& header,
                 const std::vector<std::size_t>& widths,
                 const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> w(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) {
    w[c] = header[c].size();
    for (const auto& r : rows) {
      w[c] = std::max(w[c], std::min(r[c].size(), widths[c]));
    }
  }
  auto line = [&](const std::vector<std::string>& r) {
    std::string s = "  ";
    for (std::size_t c = 0; c < r.size(); ++c) {
      s += c + 1 == r.size() ? cell(r[c], widths[c]) : pad(cell(r[c], widths[c]), w[c]);
    }
    out << s << "\n";
  };
  line(header);
  std::vector<std::string> rule;
  for (std::size_t c = 0; c < header.size(); ++c) {
    rule.emplace_back(std::min(w[c], widths[c]), '-');
  }
  line(rule);
  for (const auto& r : rows) {
    line(r);
  }
}

std::string format_rank(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", r);
  return buf;
}

}  // namespace

void SearchSync::validate(WorkerContext& ctx) {
  Db& db = ctx.db();
  const auto r = db.with_transaction([&](pqxx::work& tx) {
    return db.exec(tx,
                   "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'), "
                   "to_regclass('search_lexemes') IS NOT NULL, "
                   "to_regprocedure('search_posts(text, integer)') IS NOT NULL, "
                   "to_regprocedure('search_profiles(text, integer)') IS NOT NULL, "
                   "to_regprocedure('socialai_extract_tags(text, text, text)') IS NOT NULL");
  });
  const char* names[] = {"extension pg_trgm", "table search_lexemes",
                         "function search_posts(text, integer)",
                         "function search_profiles(text, integer)",
                         "function socialai_extract_tags(text, text, text)"};
  std::string missing;
  for (int i = 0; i < 5; ++i) {
    if (!r[0][i].as<bool>()) {
      missing += (missing.empty() ? "" : ", ") + std::string(names[i]);
    }
  }
  if (!missing.empty()) {
    throw DependencyError("search schema incomplete (missing " + missing +
                          "); apply migration 002_search (postgresql-contrib provides pg_trgm)");
  }
}

SearchBatch SearchSync::index_batch(Db& db, int batch_size, std::int64_t after_id,
                                    int work_mem_mb) {
  SearchBatch out;
  db.with_transaction([&](pqxx::work& tx) {
    // The index is derived data: a commit lost in a crash leaves its rows pending, so they are
    // simply indexed again. Not waiting for the WAL flush saves a disk sync per batch.
    db.exec(tx, "SET LOCAL synchronous_commit = off");
    // An insert that overflows the full-text index's pending list merges the list into the
    // index, gathering its entries in work_mem: the default 4 MB cuts that merge into several
    // passes over the index (sql/018_search_indexing.sql).
    db.exec(tx, "SELECT set_config('work_mem', $1, true)", std::to_string(work_mem_mb) + "MB");
    for (const auto& row : db.exec(tx, kClaimSql, batch_size, after_id)) {
      out.ids.push_back(row[0].as<std::int64_t>());
    }
    if (out.ids.empty()) {
      return;
    }
    const std::string all = array_literal(out.ids);
    for (int attempt = 0;; ++attempt) {
      std::string sqlstate, error;
      try {
        index_ids(db, tx, all);
        out.indexed = static_cast<std::int64_t>(out.ids.size());
        return;
      } catch (const pqxx::broken_connection&) {
        throw;
      } catch (const std::exception& e) {
        sqlstate = sqlstate_of(e);
        error = first_line(e.what());
        if (!is_item_error(sqlstate) &&
            !(is_transient(sqlstate) && attempt + 1 < kTransientRetries)) {
          throw;
        }
      }
      if (is_item_error(sqlstate)) {
        spdlog::warn("batch of {} posts failed ({}); indexing them one by one", out.ids.size(),
                     error);
        break;
      }
    }
    for (const std::int64_t id : out.ids) {
      try {
        index_ids(db, tx, array_literal({id}));
        ++out.indexed;
      } catch (const pqxx::broken_connection&) {
        throw;
      } catch (const std::exception& e) {
        if (!is_item_error(sqlstate_of(e))) {
          throw;
        }
        out.failed.emplace_back("post:" + std::to_string(id), first_line(e.what()));
        db.exec(tx, kGiveUpSql, id);
      }
    }
  });
  return out;
}

void SearchSync::run_cycle(WorkerContext& ctx) {
  const int batch_size = clamp_setting(ctx, "batch_size", 1000, 1, 100000);
  const int parallelism = clamp_setting(ctx, "parallelism", 2, 1, 16);
  const int work_mem_mb =
      clamp_setting(ctx, "index_work_mem_mb", kIndexWorkMemMb, kMinIndexWorkMemMb, 4096);
  const auto deadline =
      Clock::now() + std::chrono::seconds(clamp_setting(ctx, "max_cycle_seconds", 300, 1, 86400));
  const auto t0 = Clock::now();

  Tally tally;
  std::atomic<bool> halt{false};
  std::atomic<int> running{0};
  std::mutex error_mu;
  std::exception_ptr helper_error;
  auto keep_going = [&] { return !halt.load() && Clock::now() < deadline; };

  // Helper connections copy this one's search_path, so they index the same tables.
  std::string search_path;
  if (parallelism > 1) {
    search_path = ctx.db().with_transaction([&](pqxx::work& tx) {
      return ctx.db().exec(tx, "SELECT current_setting('search_path')")[0][0].as<std::string>();
    });
  }
  std::vector<std::thread> helpers;
  for (int i = 1; i < parallelism; ++i) {
    running.fetch_add(1);
    helpers.emplace_back([&, url = ctx.db().url()] {
      try {
        Db db(url);
        if (!db.connect(nullptr, 1)) {
          throw std::runtime_error("could not connect");
        }
        db.with_transaction([&](pqxx::work& tx) {
          db.exec(tx, "SELECT set_config('search_path', $1, false)", search_path);
        });
        std::int64_t after_id = 0;
        while (keep_going() && drain_step(db, batch_size, work_mem_mb, &after_id, &tally)) {
        }
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mu);
        if (!helper_error) {
          helper_error = std::current_exception();
        }
        halt.store(true);
      }
      running.fetch_sub(1);
    });
  }

  std::exception_ptr main_error;
  try {
    std::int64_t after_id = 0;
    while (keep_going() && !ctx.stopping() &&
           drain_step(ctx.db(), batch_size, work_mem_mb, &after_id, &tally)) {
      tally.drain(ctx);
    }
  } catch (...) {
    main_error = std::current_exception();
  }
  halt.store(halt.load() || main_error != nullptr || ctx.stopping());
  while (running.load() > 0) {
    if (ctx.stopping()) {
      halt.store(true);  // helpers finish and commit their current batch
    }
    tally.drain(ctx);
    std::this_thread::sleep_for(10ms);
  }
  for (auto& t : helpers) {
    t.join();
  }
  tally.drain(ctx);
  if (tally.total_ok() > 0 && !main_error && !helper_error) {
    merge_pending_list(ctx.db());
  }

  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  if (tally.total_ok() + tally.total_failed() > 0) {
    spdlog::info("indexed {} posts ({} failed) in {:.2f} s: {:.0f} posts/s on {} connection(s)",
                 tally.total_ok(), tally.total_failed(), secs,
                 static_cast<double>(tally.total_ok()) / std::max(secs, 1e-3), parallelism);
  }
  if (main_error) {
    std::rethrow_exception(main_error);
  }
  if (helper_error) {
    try {
      std::rethrow_exception(helper_error);
    } catch (const std::exception& e) {
      // Not rethrown as is: a helper's broken connection must not make the runtime reconnect
      // its own healthy one.
      throw std::runtime_error(std::string("indexing connection: ") + first_line(e.what()));
    }
  }
}

std::string SearchSync::extra_usage() const {
  return "  --query TEXT       print search_posts and search_profiles results for TEXT, exit\n";
}

int SearchSync::run_command(WorkerContext& ctx, const std::map<std::string, std::string>& flags) {
  const auto it = flags.find("query");
  if (it == flags.end()) {
    return 2;
  }
  const std::string& text = it->second;
  const int limit = clamp_setting(ctx, "query_limit", 10, 1, 1000);
  Db& db = ctx.db();
  const auto [posts, profiles] = db.with_transaction([&](pqxx::work& tx) {
    return std::pair(db.exec(tx,
                             "SELECT id, source, external_id, rank, headline "
                             "FROM search_posts($1, $2)",
                             text, limit),
                     db.exec(tx,
                             "SELECT id, source, external_id, username, display_name, rank "
                             "FROM search_profiles($1, $2)",
                             text, limit));
  });
  auto str = [](const pqxx::field& f) { return f.is_null() ? std::string() : f.c_str(); };

  std::vector<std::vector<std::string>> rows;
  for (const auto& r : posts) {
    rows.push_back({format_rank(r[3].as<double>()), str(r[0]), str(r[1]), str(r[2]),
                    plain_headline(str(r[4]))});
  }
  std::cout << "Posts matching \"" << cell(text, 80) << "\": " << rows.size() << "\n";
  if (!rows.empty()) {
    print_table(std::cout, {"rank", "id", "source", "external_id", "headline"},
                {10, 12, 12, 24, 120}, rows);
  }
  rows.clear();
  for (const auto& r : profiles) {
    rows.push_back(
        {format_rank(r[5].as<double>()), str(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4])});
  }
  std::cout << "\nProfiles matching \"" << cell(text, 80) << "\": " << rows.size() << "\n";
  if (!rows.empty()) {
    print_table(std::cout, {"rank", "id", "source", "external_id", "username", "display_name"},
                {10, 12, 12, 24, 32, 48}, rows);
  }
  std::cout.flush();
  return 0;
}

}  // namespace socialai
