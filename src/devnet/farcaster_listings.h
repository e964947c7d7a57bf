// Listings: the Farcaster devnet's per-fid listings (GET /v1/castsByFid, /v1/userDataByFid,
// /v1/reactionsByFid, /v1/linksByFid, /v1/verificationsByFid) with pageSize/pageToken/reverse
// paging, in either hub's dialect. Called under the server's lock only (like every service).
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "devnet/devnet.h"
#include "devnet/farcaster_data.h"
#include "devnet/farcaster_messages.h"

namespace socialai::devnet::fc {

class Listings {
 public:
  explicit Listings(const DataSet& data) : data_(data) {}

  // The answer to a listing route, std::nullopt for any other path. A bad request throws
  // std::invalid_argument with the hub's message (the service renders the dialect's error).
  std::optional<Response> handle(const Request& req, Dialect dialect);

 private:
  const Account* account(const Request& req) const;
  bool reverse(const Request& req) const;
  template <typename Item, typename Render>
  Response page(const Request& req, const std::vector<const Item*>& items, Render render) const;
  Response casts(const Request& req) const;
  static nlohmann::json render_cast(const Account* a, const CastEntry& e);
  Response user_data(const Request& req) const;
  int reaction_filter(const Request& req) const;
  Response reactions(const Request& req) const;
  Response links(const Request& req) const;
  Response verifications(const Request& req) const;

  const DataSet& data_;
  Dialect dialect_ = Dialect::kSnapchain;
  mutable std::unordered_map<std::string, std::string> cast_text_;  // hash → serialised message
};

}  // namespace socialai::devnet::fc
