// The solana worker's cycle (see solana_sync.h and docs/solana.md).
#include "workers/solana/solana_sync.h"

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <string_view>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "workers/solana/metaplex.h"
#include "workers/solana/solana_keys.h"
#include "workers/solana/solana_rpc.h"

namespace socialai {

using nlohmann::json;
using solana::ChainTransaction;
using solana::TokenAccount;

namespace {

constexpr const char* kChain = "solana";
// Both token programs hold fungible tokens and NFTs; each answers only for its own accounts.
constexpr std::array<std::string_view, 2> kTokenPrograms = {solana::kTokenProgramId,
                                                             solana::kToken2022ProgramId};
// Calls per wallet in a chunk's first batch: balance, one per token program, signatures.
constexpr std::size_t kFirstCalls = 2 + kTokenPrograms.size();

std::string cursor_key(const std::string& wallet) { return "signatures:" + wallet; }

std::vector<std::string> split_wallets(const std::string& text) {
  std::vector<std::string> out;
  if (!text.empty() && text.front() == '[') {
    const json j = json::parse(text, nullptr, false);
    if (!j.is_array()) {
      throw DependencyError("setting wallets is not a JSON array");
    }
    for (const auto& v : j) {
      if (!v.is_string()) {
        throw DependencyError("setting wallets holds a non-string entry");
      }
      out.push_back(v.get<std::string>());
    }
    return out;
  }
  std::string cur;
  for (const char c : text + ",") {
    if (c == ',' || c == ' ' || c == '\n' || c == '\t') {
      if (!cur.empty()) {
        out.push_back(cur);
      }
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  return out;
}

// The result of one call of a batch, or the node's error as an exception.
const json& result_of(const JsonRpcResult& r) {
  if (!r.ok()) {
    throw *r.error;
  }
  return r.result;
}

// getSignaturesForAddress back from `before` (or the newest) to `until` (exclusive).
JsonRpcCall signatures_call(const std::string& wallet, const SolanaSync::Settings& s,
                            const std::optional<std::string>& until,
                            const std::optional<std::string>& before) {
  json cfg = {{"limit", s.signatures_limit}, {"commitment", s.commitment}};
  if (until) {
    cfg["until"] = *until;
  }
  if (before) {
    cfg["before"] = *before;
  }
  return {"getSignaturesForAddress", json::array({wallet, cfg})};
}

// jsonb text for PostgreSQL: invalid UTF-8 from a node becomes U+FFFD instead of an exception.
std::string jsonb(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

struct SolanaSync::WalletState {
  std::string address;
  std::uint64_t lamports = 0;
  std::vector<TokenAccount> accounts;
  std::optional<std::string> cursor;        // newest signature already stored
  std::vector<ChainTransaction> new_txs;     // newest first
  std::map<std::string, json> metadata;      // NFT mint -> decoded metadata (fetched this cycle)
  std::vector<std::pair<std::string, std::string>> nft_errors;  // (mint, error)
};

SolanaSync::Settings SolanaSync::read_settings(const WorkerContext& ctx) {
  Settings s;
  s.rpc_url = ctx.setting_or("rpc_url", "");
  if (s.rpc_url.empty()) {
    throw DependencyError("setting rpc_url is required");
  }
  s.wallets = split_wallets(ctx.setting_or("wallets", ""));
  s.requests_per_minute = static_cast<double>(ctx.setting_int("requests_per_minute", 600));
  s.batch_size = static_cast<int>(std::clamp<std::int64_t>(ctx.setting_int("batch_size", 50), 1, 1000));
  s.signatures_limit =
      static_cast<int>(std::clamp<std::int64_t>(ctx.setting_int("signatures_limit", 1000), 1, 1000));
  s.commitment = ctx.setting_or("commitment", "finalized");
  if (s.commitment != "finalized" && s.commitment != "confirmed") {
    throw DependencyError("setting commitment must be finalized or confirmed, not '" +
                          s.commitment + "'");
  }
  return s;
}

JsonRpcClient& SolanaSync::client(WorkerContext& ctx, const Settings& s) {
  ctx_ = &ctx;
  const std::string key = s.rpc_url + "|" + std::to_string(s.requests_per_minute);
  if (!rpc_ || key != client_key_) {
    rpc_.reset();
    http_.reset();
    limiter_ = std::make_unique<RateLimiter>(s.requests_per_minute, 5);
    HttpClient::Options o;
    o.limiter = limiter_.get();
    o.should_stop = [this] { return ctx_ != nullptr && ctx_->stopping(); };
    http_ = std::make_unique<HttpClient>(o);
    rpc_ = std::make_unique<JsonRpcClient>(*http_, s.rpc_url);
    client_key_ = key;
  }
  return *rpc_;
}

void SolanaSync::validate(WorkerContext& ctx) {
  const Settings s = read_settings(ctx);
  JsonRpcClient& rpc = client(ctx, s);
  try {
    const json v = rpc.call("getVersion");
    if (!v.is_object() || !v.contains("solana-core")) {
      throw DependencyError("getVersion at " + rpc.redacted_url() +
                            " did not name a solana-core version: is this a Solana node?");
    }
    spdlog::info("solana node at {}: solana-core {}", rpc.redacted_url(),
                 v["solana-core"].is_string() ? v["solana-core"].get<std::string>() : "?");
  } catch (const JsonRpcError& e) {
    throw DependencyError(std::string("Solana node refused getVersion: ") + e.what());
  } catch (const JsonRpcTransportError& e) {
    throw DependencyError(std::string("Solana node unreachable: ") + e.what());
  }
}

std::vector<std::string> SolanaSync::tracked_wallets(WorkerContext& ctx, const Settings& s) {
  json configured = json::array();
  for (const auto& w : s.wallets) {
    if (solana::parse_pubkey(w)) {
      configured.push_back(w);
    } else {
      ctx.item_failed("wallet:" + w, "configured wallet is not a base58 32-byte public key");
    }
  }
  Db& db = ctx.db();
  std::vector<std::string> out;
  db.with_transaction([&](pqxx::work& tx) {
    db.exec(tx,
            "INSERT INTO wallets (chain, address) SELECT $1, x "
            "FROM jsonb_array_elements_text($2::jsonb) AS x ON CONFLICT DO NOTHING",
            kChain, configured.dump());
    for (const auto& row : db.exec(
             tx, "SELECT address FROM wallets WHERE chain = $1 ORDER BY address", kChain)) {
      out.push_back(row[0].as<std::string>());
    }
  });
  std::vector<std::string> valid;
  for (const auto& a : out) {
    if (solana::parse_pubkey(a)) {
      valid.push_back(a);
    } else {
      ctx.item_failed("wallet:" + a, "wallets row is not a base58 32-byte public key; skipped");
    }
  }
  return valid;
}

void SolanaSync::run_cycle(WorkerContext& ctx) {
  const Settings s = read_settings(ctx);
  client(ctx, s);
  const std::vector<std::string> wallets = tracked_wallets(ctx, s);
  const auto chunk = static_cast<std::size_t>(s.batch_size);
  for (std::size_t i = 0; i < wallets.size() && !ctx.stopping(); i += chunk) {
    const std::vector<std::string> part(
        wallets.begin() + static_cast<std::ptrdiff_t>(i),
        wallets.begin() + static_cast<std::ptrdiff_t>(std::min(wallets.size(), i + chunk)));
    sync_chunk(ctx, s, part);
  }
}

void SolanaSync::sync_chunk(WorkerContext& ctx, const Settings& s,
                            const std::vector<std::string>& chunk) {
  // Cursors of the whole chunk, then one batch: balance, token accounts of both token programs
  // and the first page of new signatures per wallet (an idle cycle costs one request per chunk).
  std::map<std::string, std::string> cursors;
  Db& db = ctx.db();
  db.with_transaction([&](pqxx::work& tx) {
    for (const auto& row :
         db.exec(tx,
                 "SELECT key, cursor FROM sync_state WHERE worker = $1 AND cursor IS NOT NULL AND "
                 "key IN (SELECT 'signatures:' || x FROM jsonb_array_elements_text($2::jsonb) x)",
                 ctx.name(), json(chunk).dump())) {
      cursors[row[0].as<std::string>()] = row[1].as<std::string>();
    }
  });
  std::vector<JsonRpcCall> calls;
  for (const auto& w : chunk) {
    calls.push_back({"getBalance", json::array({w, {{"commitment", s.commitment}}})});
    for (const std::string_view program : kTokenPrograms) {
      calls.push_back({"getTokenAccountsByOwner",
                       json::array({w,
                                    {{"programId", program}},
                                    {{"encoding", "jsonParsed"}, {"commitment", s.commitment}}})});
    }
    const auto c = cursors.find(cursor_key(w));
    calls.push_back(signatures_call(w, s, c == cursors.end() ? std::nullopt
                                                             : std::optional<std::string>(c->second),
                                    std::nullopt));
  }
  std::vector<JsonRpcResult> results;
  try {
    results = rpc_->batch(calls, calls.size());
  } catch (const JsonRpcTransportError& e) {
    spdlog::warn("solana: first batch of {} wallets failed: {}", chunk.size(), e.what());
    for (const auto& w : chunk) {
      ctx.item_failed("wallet:" + w, e.what());
    }
    return;
  }
  for (std::size_t i = 0; i < chunk.size() && !ctx.stopping(); ++i) {
    WalletState w;
    w.address = chunk[i];
    const auto c = cursors.find(cursor_key(w.address));
    if (c != cursors.end()) {
      w.cursor = c->second;
    }
    const std::size_t at = kFirstCalls * i;
    try {
      w.lamports = solana::parse_balance(result_of(results[at]));
      for (std::size_t p = 0; p < kTokenPrograms.size(); ++p) {
        auto accounts = solana::parse_token_accounts(result_of(results[at + 1 + p]), w.address);
        w.accounts.insert(w.accounts.end(), accounts.begin(), accounts.end());
      }
      fetch_history(ctx, s, w, result_of(results[at + kFirstCalls - 1]));
      fetch_metadata(ctx, s, w);
      write(ctx, w);
    } catch (const pqxx::broken_connection&) {
      throw;
    } catch (const std::exception& e) {
      spdlog::warn("solana: wallet {} failed, nothing written: {}", w.address, e.what());
      ctx.item_failed("wallet:" + w.address, e.what());
      continue;
    }
    for (const auto& [mint, error] : w.nft_errors) {
      spdlog::warn("solana: metadata of NFT {} (wallet {}): {}", mint, w.address, error);
      ctx.item_failed("nft:" + mint, error);
    }
    ctx.item_ok();
  }
}

void SolanaSync::fetch_history(WorkerContext& ctx, const Settings& s, WalletState& w,
                               const json& first_page) {
  // Newest first, page by page back to the cursor (exclusive).
  std::vector<solana::SignatureInfo> sigs;
  std::set<std::string> seen;
  json answer = first_page;
  while (true) {
    const auto page = solana::parse_signatures(answer);
    for (const auto& sig : page) {
      if (!seen.insert(sig.signature).second) {
        throw solana::WireError("getSignaturesForAddress repeated signature " + sig.signature +
                                " (the node ignored `before`?)");
      }
      sigs.push_back(sig);
    }
    if (page.size() < static_cast<std::size_t>(s.signatures_limit) || ctx.stopping()) {
      break;
    }
    const JsonRpcCall next = signatures_call(w.address, s, w.cursor, page.back().signature);
    answer = rpc_->call(next.method, next.params);
  }
  if (ctx.stopping()) {
    throw std::runtime_error("stopping before the history was complete");
  }
  std::vector<JsonRpcCall> calls;
  for (const auto& sig : sigs) {
    calls.push_back({"getTransaction",
                     json::array({sig.signature,
                                  {{"encoding", "json"},
                                   {"commitment", s.commitment},
                                   {"maxSupportedTransactionVersion", 0}}})});
  }
  const auto results = rpc_->batch(calls, static_cast<std::size_t>(s.batch_size));
  for (std::size_t i = 0; i < sigs.size(); ++i) {
    const json& r = result_of(results[i]);
    if (r.is_null()) {
      throw std::runtime_error("transaction " + sigs[i].signature + " not available at commitment " +
                               s.commitment + " yet");
    }
    w.new_txs.push_back(solana::parse_transaction(r, sigs[i].signature));
  }
}

void SolanaSync::fetch_metadata(WorkerContext& ctx, const Settings& s, WalletState& w) {
  // Metadata is fetched once per holding (again while it is missing).
  std::set<std::string> known;
  Db& db = ctx.db();
  db.with_transaction([&](pqxx::work& tx) {
    for (const auto& row : db.exec(tx,
                                   "SELECT contract FROM nft_holdings WHERE chain = $1 AND "
                                   "address = $2 AND metadata IS NOT NULL",
                                   kChain, w.address)) {
      known.insert(row[0].as<std::string>());
    }
  });
  std::vector<std::string> mints;
  std::vector<JsonRpcCall> calls;
  for (const auto& a : w.accounts) {
    if (a.looks_like_nft() && !known.count(a.mint) &&
        std::find(mints.begin(), mints.end(), a.mint) == mints.end()) {
      const std::string pda = solana::to_base58(solana::metadata_pda(*solana::parse_pubkey(a.mint)));
      mints.push_back(a.mint);
      calls.push_back({"getAccountInfo",
                       json::array({pda, {{"encoding", "base64"}, {"commitment", s.commitment}}})});
    }
  }
  const auto results = rpc_->batch(calls, static_cast<std::size_t>(s.batch_size));
  for (std::size_t i = 0; i < mints.size(); ++i) {
    try {
      const auto data = solana::parse_account_data(result_of(results[i]));
      if (!data) {
        throw solana::MetadataError("no Metaplex metadata account at its PDA " +
                                    calls[i].params[0].get<std::string>());
      }
      const solana::TokenMetadata m = solana::decode_metadata(*data);
      if (m.mint != mints[i]) {
        throw solana::MetadataError("metadata account names mint " + m.mint);
      }
      w.metadata[mints[i]] = m.to_json();
    } catch (const JsonRpcError& e) {
      w.nft_errors.emplace_back(mints[i], e.what());
    } catch (const solana::MetadataError& e) {
      w.nft_errors.emplace_back(mints[i], e.what());
    } catch (const solana::WireError& e) {
      w.nft_errors.emplace_back(mints[i], e.what());
    }
  }
}

void SolanaSync::write(WorkerContext& ctx, const WalletState& w) {
  json accounts = json::array();
  json nfts = json::array();
  for (const auto& a : w.accounts) {
    accounts.push_back({{"mint", a.mint}, {"amount", a.amount}, {"decimals", a.decimals}});
    if (a.looks_like_nft()) {
      const auto it = w.metadata.find(a.mint);
      nfts.push_back({{"mint", a.mint}, {"metadata", it == w.metadata.end() ? json() : it->second}});
    }
  }
  json txs = json::array();
  for (const auto& t : w.new_txs) {
    txs.push_back({{"hash", t.signature},
                   {"slot", t.slot},
                   {"block_time", t.block_time ? json(*t.block_time) : json()},
                   {"from_address", t.fee_payer},
                   {"to_address", t.to.empty() ? json() : json(t.to)},
                   {"value", t.value},
                   {"status", t.status}});
  }
  Db& db = ctx.db();
  db.with_transaction([&](pqxx::work& tx) {
    db.exec(tx,
            "UPDATE wallets SET native_balance = $3::numeric, updated_at = now() "
            "WHERE chain = $1 AND address = $2 AND native_balance IS DISTINCT FROM $3::numeric",
            kChain, w.address, std::to_string(w.lamports));
    // Several token accounts of one mint add up; mints with nothing left are removed.
    db.exec(tx,
            "WITH held AS (SELECT r.mint, max(r.decimals) AS decimals, sum(r.amount::numeric) AS "
            "amount FROM jsonb_to_recordset($3::jsonb) AS r(mint text, amount text, decimals int) "
            "GROUP BY r.mint HAVING sum(r.amount::numeric) > 0), "
            "gone AS (DELETE FROM token_balances t WHERE t.chain = $1 AND t.address = $2 AND "
            "NOT EXISTS (SELECT 1 FROM held h WHERE h.mint = t.token)) "
            "INSERT INTO token_balances (chain, address, token, decimals, balance) "
            "SELECT $1, $2, mint, decimals, amount FROM held "
            "ON CONFLICT (chain, address, token) DO UPDATE SET decimals = EXCLUDED.decimals, "
            "balance = EXCLUDED.balance, updated_at = now() "
            "WHERE (token_balances.decimals, token_balances.balance) IS DISTINCT FROM "
            "(EXCLUDED.decimals, EXCLUDED.balance)",
            kChain, w.address, jsonb(accounts));
    db.exec(tx,
            "WITH held AS (SELECT DISTINCT ON (r.mint) r.mint, r.metadata "
            "FROM jsonb_to_recordset($3::jsonb) AS r(mint text, metadata jsonb)), "
            "gone AS (DELETE FROM nft_holdings n WHERE n.chain = $1 AND n.address = $2 AND "
            "NOT EXISTS (SELECT 1 FROM held h WHERE h.mint = n.contract)) "
            "INSERT INTO nft_holdings (chain, address, contract, token_id, metadata) "
            "SELECT $1, $2, mint, mint, CASE WHEN jsonb_typeof(metadata) = 'object' THEN metadata "
            "END FROM held "
            "ON CONFLICT (chain, address, contract, token_id) DO UPDATE SET "
            "metadata = EXCLUDED.metadata, updated_at = now() "
            "WHERE EXCLUDED.metadata IS NOT NULL AND "
            "nft_holdings.metadata IS DISTINCT FROM EXCLUDED.metadata",
            kChain, w.address, jsonb(nfts));
    db.exec(tx,
            "INSERT INTO chain_transactions (chain, hash, block_number, block_time, from_address, "
            "to_address, value, status) "
            "SELECT $1, r.hash, r.slot, to_timestamp(r.block_time), r.from_address, r.to_address, "
            "r.value::numeric, r.status FROM jsonb_to_recordset($2::jsonb) AS r(hash text, "
            "slot bigint, block_time bigint, from_address text, to_address text, value text, "
            "status text) "
            "ON CONFLICT (chain, hash) DO UPDATE SET block_number = EXCLUDED.block_number, "
            "block_time = EXCLUDED.block_time, from_address = EXCLUDED.from_address, "
            "to_address = EXCLUDED.to_address, value = EXCLUDED.value, status = EXCLUDED.status "
            "WHERE (chain_transactions.block_number, chain_transactions.block_time, "
            "chain_transactions.from_address, chain_transactions.to_address, "
            "chain_transactions.value, chain_transactions.status) IS DISTINCT FROM "
            "(EXCLUDED.block_number, EXCLUDED.block_time, EXCLUDED.from_address, "
            "EXCLUDED.to_address, EXCLUDED.value, EXCLUDED.status)",
            kChain, jsonb(txs));
    if (!w.new_txs.empty()) {
      db.exec(tx,
              "INSERT INTO sync_state (worker, key, cursor) VALUES ($1, $2, $3) "
              "ON CONFLICT (worker, key) DO UPDATE SET cursor = EXCLUDED.cursor, "
              "updated_at = now()",
              ctx.name(), cursor_key(w.address), w.new_txs.front().signature);
    }
  });
}

}  // namespace socialai
