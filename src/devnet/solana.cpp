// The devnet's Solana JSON-RPC node (mounted at /solana): getHealth, getVersion, getSlot,
// getBalance, getTokenAccountsByOwner (jsonParsed; classic and Token-2022), getSignaturesForAddress, getTransaction
// (json), getAccountInfo (base64) in the wire formats of a real node, over a SolanaChain.
// Control routes: /_devnet/solana/truth, /_devnet/solana/wallets, /_devnet/solana/calls (method
// counters), POST /_devnet/solana/grow.
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "devnet/devnet.h"
#include "devnet/json_rpc.h"
#include "devnet/solana_chain.h"
#include "workers/solana/metaplex.h"
#include "workers/solana/solana_keys.h"

namespace socialai::devnet {
namespace {

using nlohmann::json;

constexpr const char* kApiVersion = "2.0.15";
constexpr std::uint64_t kRentEpochMax = 18446744073709551615ull;
constexpr const char* kToken2022Program = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb";

class SolanaService : public Service {
 public:
  SolanaService(std::uint64_t seed, SolanaChain::Sizes sizes) : chain_(seed, sizes) {}

  std::string name() const override { return "solana"; }
  std::string mount() const override { return "/solana"; }

  Response handle(const Request& request) override {
    return serve_json_rpc(request, [this](const std::string& method, const json& params) {
      return dispatch(method, params);
    });
  }

  Response control(const Request& request) override {
    if (request.path == "/truth") {
      return Response::json(200, chain_.truth());
    }
    if (request.path == "/calls") {
      return Response::json(200, {{"methods", calls_}, {"signatures_returned", signatures_returned_}});
    }
    if (request.path == "/wallets") {
      json out = json::array();
      for (const auto& w : chain_.wallets()) {
        out.push_back(w.address);
      }
      return Response::json(200, out);
    }
    if (request.path == "/grow") {
      if (request.method != "POST") {
        return Response::json(405, {{"error", "POST {\"signatures\": n, \"drop_holdings\": k}"}});
      }
      const json body = request.body.empty() ? json::object()
                                             : json::parse(request.body, nullptr, false);
      if (!body.is_object()) {
        return Response::json(400, {{"error", "body must be a JSON object"}});
      }
      const int n = body.value("signatures", 1);
      const int drop = body.value("drop_holdings", 0);
      if (n < 0 || n > 1000 || drop < 0) {
        return Response::json(400, {{"error", "signatures must be 0..1000, drop_holdings >= 0"}});
      }
      chain_.grow(n, drop);
      return Response::json(200, {{"slot", chain_.slot()}, {"transactions", chain_.txs().size()}});
    }
    return Response::json(404, {{"error", "unknown solana control route " + request.path}});
  }

 private:
  json context() const { return {{"apiVersion", kApiVersion}, {"slot", chain_.slot()}}; }

  static std::string address_param(const json& params, std::size_t i) {
    if (!params.is_array() || params.size() <= i || !params[i].is_string()) {
      throw RpcFailure(-32602, "Invalid params: expected a base-58 string at " + std::to_string(i));
    }
    const std::string s = params[i].get<std::string>();
    if (!solana::parse_pubkey(s)) {
      throw RpcFailure(-32602, "Invalid param: Invalid");
    }
    return s;
  }

  static json config(const json& params, std::size_t i) {
    if (params.is_array() && params.size() > i) {
      if (!params[i].is_object()) {
        throw RpcFailure(-32602, "Invalid params: config must be an object");
      }
      return params[i];
    }
    return json::object();
  }

  json dispatch(const std::string& method, const json& params) {
    calls_[method] = calls_.value(method, 0) + 1;
    if (method == "getHealth") {
      return "ok";
    }
    if (method == "getVersion") {
      return {{"solana-core", kApiVersion}, {"feature-set", 607245837}};
    }
    if (method == "getSlot") {
      return chain_.slot();
    }
    if (method == "getBalance") {
      const SolanaWallet* w = chain_.wallet(address_param(params, 0));
      return {{"context", context()}, {"value", w != nullptr ? w->lamports : 0}};
    }
    if (method == "getTokenAccountsByOwner") {
      return token_accounts(params);
    }
    if (method == "getSignaturesForAddress") {
      return signatures(params);
    }
    if (method == "getTransaction") {
      return transaction(params);
    }
    if (method == "getAccountInfo") {
      return account_info(params);
    }
    throw RpcFailure(-32601, "Method not found");
  }

  json token_accounts(const json& params) {
    const std::string owner = address_param(params, 0);
    const json filter = config(params, 1);
    std::string mint_filter;
    std::optional<bool> want_2022;  // by program; unset when filtering by mint
    if (filter.contains("programId")) {
      const std::string prog = filter["programId"].is_string() ? filter["programId"].get<std::string>() : "";
      if (prog != solana::kTokenProgramId && prog != kToken2022Program) {
        throw RpcFailure(-32602, "Invalid param: unrecognized Token program id");
      }
      want_2022 = prog == kToken2022Program;
    } else if (filter.contains("mint") && filter["mint"].is_string()) {
      mint_filter = filter["mint"].get<std::string>();
    } else {
      throw RpcFailure(-32602, "Invalid params: expected {\"mint\"} or {\"programId\"}");
    }
    if (config(params, 2).value("encoding", "binary") != "jsonParsed") {
      throw RpcFailure(-32602, "devnet: only encoding jsonParsed is served");
    }
    json value = json::array();
    if (const SolanaWallet* w = chain_.wallet(owner)) {
      for (const auto& h : w->holdings) {
        if ((!mint_filter.empty() && h.mint != mint_filter) ||
            (want_2022 && *want_2022 != h.token2022)) {
          continue;
        }
        json info = {{"isNative", false},
                     {"mint", h.mint},
                     {"owner", owner},
                     {"state", "initialized"},
                     {"tokenAmount", token_amount(h.amount, h.decimals)}};
        // A Token-2022 account as a node parses it: the program's name, its owner program,
        // and the extensions the associated-token program gives every account (ImmutableOwner:
        // 165 bytes, an account-type byte, a 4-byte extension header, so 170 bytes in all).
        std::size_t space = 165;
        if (h.token2022) {
          info["extensions"] = json::array({{{"extension", "immutableOwner"}}});
          space = 170;
        }
        value.push_back(
            {{"pubkey", h.account},
             {"account",
              {{"data",
                {{"program", h.token2022 ? "spl-token-2022" : "spl-token"},
                 {"parsed", {{"info", std::move(info)}, {"type", "account"}}},
                 {"space", space}}},
               {"executable", false},
               {"lamports", h.token2022 ? 2074080 : 2039280},
               {"owner", h.token2022 ? std::string(kToken2022Program)
                                     : std::string(solana::kTokenProgramId)},
               {"rentEpoch", kRentEpochMax},
               {"space", space}}}});
      }
    }
    return {{"context", context()}, {"value", value}};
  }

  // {amount, decimals, uiAmount, uiAmountString} as the jsonParsed SPL parser writes them.
  static json token_amount(const std::string& amount, int decimals) {
    std::string ui = amount;
    if (decimals > 0) {
      if (ui.size() <= static_cast<std::size_t>(decimals)) {
        ui.insert(0, static_cast<std::size_t>(decimals) + 1 - ui.size(), '0');
      }
      ui.insert(ui.size() - static_cast<std::size_t>(decimals), ".");
      while (ui.back() == '0') {
        ui.pop_back();
      }
      if (ui.back() == '.') {
        ui.pop_back();
      }
    }
    return {{"amount", amount},
            {"decimals", decimals},
            {"uiAmount", std::stod(ui)},
            {"uiAmountString", ui}};
  }

  json signatures(const json& params) {
    const std::string address = address_param(params, 0);
    const json cfg = config(params, 1);
    const std::int64_t limit = cfg.value("limit", 1000);
    if (limit < 1 || limit > 1000) {
      throw RpcFailure(-32602, "Invalid limit; max 1000");
    }
    const std::string before = cfg.value("before", "");
    const std::string until = cfg.value("until", "");
    json out = json::array();
    const SolanaWallet* w = chain_.wallet(address);
    if (w == nullptr) {
      return out;
    }
    bool started = before.empty();
    for (auto it = w->txs.rbegin(); it != w->txs.rend(); ++it) {
      const SolanaTx& t = chain_.txs()[*it];
      if (!started) {
        started = t.signature == before;
        continue;
      }
      if (t.signature == until || static_cast<std::int64_t>(out.size()) >= limit) {
        break;
      }
      out.push_back({{"signature", t.signature},
                     {"slot", t.slot},
                     {"err", t.failed ? failure() : json()},
                     {"memo", nullptr},
                     {"blockTime", t.block_time},
                     {"confirmationStatus", "finalized"}});
    }
    signatures_returned_ += static_cast<std::int64_t>(out.size());
    return out;
  }

  static json failure() { return {{"InstructionError", json::array({0, {{"Custom", 1}}})}}; }

  json transaction(const json& params) {
    if (!params.is_array() || params.empty() || !params[0].is_string()) {
      throw RpcFailure(-32602, "Invalid params: expected a signature");
    }
    const json cfg = config(params, 1);
    if (cfg.value("encoding", "json") != "json") {
      throw RpcFailure(-32602, "devnet: only encoding json is served");
    }
    const SolanaTx* t = chain_.tx(params[0].get<std::string>());
    if (t == nullptr) {
      return nullptr;
    }
    json result = {
        {"slot", t->slot},
        {"blockTime", t->block_time},
        {"meta",
         {{"err", t->failed ? failure() : json()},
          {"status", t->failed ? json{{"Err", failure()}} : json{{"Ok", nullptr}}},
          {"fee", t->fee},
          {"preBalances", t->pre},
          {"postBalances", t->post},
          {"innerInstructions", json::array()},
          {"logMessages", json::array()},
          {"preTokenBalances", json::array()},
          {"postTokenBalances", json::array()},
          {"rewards", json::array()},
          {"computeUnitsConsumed", 150}}},
        {"transaction",
         {{"signatures", json::array({t->signature})},
          {"message",
           {{"accountKeys", t->keys},
            {"header",
             {{"numRequiredSignatures", 1},
              {"numReadonlySignedAccounts", 0},
              {"numReadonlyUnsignedAccounts", 1}}},
            {"instructions",
             json::array({{{"programIdIndex", 2},
                           {"accounts", json::array({0, 1})},
                           {"data", "3Bxs4h24hBtQy9rw"},
                           {"stackHeight", nullptr}}})},
            {"recentBlockhash", t->keys[1]}}}}}};
    if (cfg.contains("maxSupportedTransactionVersion")) {
      result["version"] = "legacy";
    }
    return result;
  }

  json account_info(const json& params) {
    const std::string address = address_param(params, 0);
    const json cfg = config(params, 1);
    const std::string encoding = cfg.value("encoding", "binary");
    if (encoding != "base64") {
      throw RpcFailure(-32602, "devnet: only encoding base64 is served");
    }
    if (const auto data = chain_.metadata_account(address)) {
      return {{"context", context()},
              {"value",
               {{"data", json::array({solana::base64_encode(*data), "base64"})},
                {"executable", false},
                {"lamports", 5616720},
                {"owner", solana::kMetadataProgramId},
                {"rentEpoch", kRentEpochMax},
                {"space", data->size()}}}};
    }
    if (const SolanaWallet* w = chain_.wallet(address)) {
      return {{"context", context()},
              {"value",
               {{"data", json::array({"", "base64"})},
                {"executable", false},
                {"lamports", w->lamports},
                {"owner", solana::kSystemProgramId},
                {"rentEpoch", kRentEpochMax},
                {"space", 0}}}};
    }
    return {{"context", context()}, {"value", nullptr}};
  }

  SolanaChain chain_;
  json calls_ = json::object();  // method -> calls answered (batch items counted one by one)
  std::int64_t signatures_returned_ = 0;
};

}  // namespace

std::unique_ptr<Service> make_solana_service(Options& options, std::uint64_t seed) {
  SolanaChain::Sizes sizes;
  sizes.wallets = static_cast<int>(options.integer("solana-wallets", sizes.wallets));
  sizes.tokens_per_wallet =
      static_cast<int>(options.integer("solana-tokens-per-wallet", sizes.tokens_per_wallet));
  sizes.token2022_per_wallet = static_cast<int>(
      options.integer("solana-token2022-per-wallet", sizes.token2022_per_wallet));
  sizes.nfts_per_wallet =
      static_cast<int>(options.integer("solana-nfts-per-wallet", sizes.nfts_per_wallet));
  sizes.signatures_per_wallet = static_cast<int>(
      options.integer("solana-signatures-per-wallet", sizes.signatures_per_wallet));
  sizes.hostile_metadata =
      static_cast<int>(options.integer("solana-hostile-metadata", sizes.hostile_metadata));
  if (sizes.wallets < 0 || sizes.tokens_per_wallet < 0 || sizes.nfts_per_wallet < 0 ||
      sizes.signatures_per_wallet < 0 || sizes.hostile_metadata < 0) {
    throw std::invalid_argument("solana size flags must not be negative");
  }
  return std::make_unique<SolanaService>(seed, sizes);
}

}  // namespace socialai::devnet
