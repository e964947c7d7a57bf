// Parsing of Solana JSON-RPC results (see solana_rpc.h).
#include "workers/solana/solana_rpc.h"

#include <algorithm>

#include "workers/solana/metaplex.h"
#include "workers/solana/solana_keys.h"

namespace socialai::solana {
namespace {

using nlohmann::json;

const json& member(const json& o, const char* name, const std::string& what) {
  if (!o.is_object() || !o.contains(name)) {
    throw WireError(what + ": missing field '" + name + "'");
  }
  return o[name];
}

std::string str(const json& o, const char* name, const std::string& what) {
  const json& v = member(o, name, what);
  if (!v.is_string()) {
    throw WireError(what + ": field '" + name + "' is not a string");
  }
  return v.get<std::string>();
}

std::uint64_t u64(const json& v, const std::string& what) {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() >= 0)) {
    throw WireError(what + " is not a non-negative integer");
  }
  return v.get<std::uint64_t>();
}

std::optional<std::int64_t> opt_int(const json& o, const char* name) {
  if (!o.contains(name) || o[name].is_null()) {
    return std::nullopt;
  }
  if (!o[name].is_number_integer()) {
    throw WireError(std::string("field '") + name + "' is not an integer");
  }
  return o[name].get<std::int64_t>();
}

bool is_digits(const std::string& s) {
  return !s.empty() && s.size() <= 78 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string checked_key(const json& v, const std::string& what) {
  if (!v.is_string() || !parse_pubkey(v.get<std::string>())) {
    throw WireError(what + " is not a base58 public key");
  }
  return v.get<std::string>();
}

}  // namespace

std::uint64_t parse_balance(const json& result) {
  return u64(member(result, "value", "getBalance"), "getBalance value");
}

std::vector<TokenAccount> parse_token_accounts(const json& result, const std::string& owner) {
  const json& value = member(result, "value", "getTokenAccountsByOwner");
  if (!value.is_array()) {
    throw WireError("getTokenAccountsByOwner: value is not an array");
  }
  std::vector<TokenAccount> out;
  for (const json& item : value) {
    const std::string what = "getTokenAccountsByOwner item";
    TokenAccount a;
    a.pubkey = checked_key(member(item, "pubkey", what), what + " pubkey");
    const json& data = member(member(item, "account", what), "data", what);
    if (!data.is_object()) {
      throw WireError(what + " " + a.pubkey + ": data is not jsonParsed (ask encoding jsonParsed)");
    }
    const json& info = member(member(data, "parsed", what), "info", what);
    a.mint = checked_key(member(info, "mint", what), what + " mint");
    if (str(info, "owner", what) != owner) {
      throw WireError(what + " " + a.pubkey + " belongs to another owner");
    }
    const json& amount = member(info, "tokenAmount", what);
    a.amount = str(amount, "amount", what);
    if (!is_digits(a.amount)) {
      throw WireError(what + " " + a.pubkey + ": tokenAmount.amount is not an integer string");
    }
    const json& dec = member(amount, "decimals", what);
    if (!dec.is_number_integer() || dec.get<std::int64_t>() < 0 || dec.get<std::int64_t>() > 255) {
      throw WireError(what + " " + a.pubkey + ": tokenAmount.decimals out of range");
    }
    a.decimals = dec.get<int>();
    out.push_back(std::move(a));
  }
  return out;
}

std::vector<SignatureInfo> parse_signatures(const json& result) {
  if (!result.is_array()) {
    throw WireError("getSignaturesForAddress: result is not an array");
  }
  std::vector<SignatureInfo> out;
  for (const json& item : result) {
    const std::string what = "getSignaturesForAddress item";
    SignatureInfo s;
    s.signature = str(item, "signature", what);
    if (s.signature.empty() || s.signature.size() > 100) {
      throw WireError(what + ": signature has a bad length");
    }
    const json& slot = member(item, "slot", what);
    s.slot = static_cast<std::int64_t>(u64(slot, what + " slot"));
    s.block_time = opt_int(item, "blockTime");
    s.failed = item.contains("err") && !item["err"].is_null();
    out.push_back(std::move(s));
  }
  return out;
}

ChainTransaction parse_transaction(const json& result, const std::string& signature) {
  const std::string what = "getTransaction " + signature;
  ChainTransaction t;
  t.signature = signature;
  t.slot = static_cast<std::int64_t>(u64(member(result, "slot", what), what + " slot"));
  t.block_time = opt_int(result, "blockTime");
  const json& meta = member(result, "meta", what);
  if (!meta.is_object()) {
    throw WireError(what + ": meta is missing (the node keeps no status for it)");
  }
  t.status = meta.contains("err") && !meta["err"].is_null() ? "failed" : "success";
  t.fee = u64(member(meta, "fee", what), what + " fee");
  const json& pre = member(meta, "preBalances", what);
  const json& post = member(meta, "postBalances", what);
  const json& keys = member(member(member(result, "transaction", what), "message", what),
                            "accountKeys", what);
  if (!keys.is_array() || keys.empty() || !pre.is_array() || !post.is_array() ||
      pre.size() != post.size() || pre.size() < keys.size()) {
    throw WireError(what + ": accountKeys/preBalances/postBalances do not line up");
  }
  // jsonParsed gives {"pubkey": ...} objects; json gives strings. Accept both.
  auto key_at = [&](std::size_t i) {
    const json& k = keys[i];
    return checked_key(k.is_object() ? member(k, "pubkey", what) : k, what + " account key");
  };
  t.fee_payer = key_at(0);
  const std::uint64_t pre0 = u64(pre[0], what + " preBalance");
  const std::uint64_t post0 = u64(post[0], what + " postBalance");
  const std::uint64_t spent = pre0 > post0 ? pre0 - post0 : 0;
  t.value = std::to_string(spent > t.fee ? spent - t.fee : 0);
  for (std::size_t i = 1; i < keys.size(); ++i) {
    if (u64(post[i], what + " postBalance") > u64(pre[i], what + " preBalance")) {
      t.to = key_at(i);
      break;
    }
  }
  if (t.to.empty() && keys.size() > 1) {
    t.to = key_at(1);
  }
  return t;
}

std::optional<std::vector<std::uint8_t>> parse_account_data(const json& result) {
  const json& value = member(result, "value", "getAccountInfo");
  if (value.is_null()) {
    return std::nullopt;
  }
  const json& data = member(value, "data", "getAccountInfo value");
  if (!data.is_array() || data.size() != 2 || !data[0].is_string() || data[1] != "base64") {
    throw WireError("getAccountInfo: data is not [<base64>, \"base64\"]");
  }
  return base64_decode(data[0].get<std::string>());
}

}  // namespace socialai::solana
