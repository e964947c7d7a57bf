// EventBatch: coalescing of hub events into per-table row sets (see event_batch.h).
#include "workers/farcaster/event_batch.h"

namespace socialai::farcaster {
namespace {

EventBatch::ReactionKey reaction_key(const ReactionRow& r) {
  return {r.fid, r.kind, r.target_hash, r.target_url};
}

}  // namespace

std::size_t BatchRows::size() const {
  return casts.size() + removed_casts.size() + reactions.size() + removed_reactions.size() +
         links.size() + removed_links.size() + wallets.size() + unlinked_wallets.size() +
         user_data.size();
}

void EventBatch::put(const Page& p, bool deleted) {
  // In a deleted message an add means the row is gone; a deleted remove (an add merged over
  // it) changes nothing by itself: the add that replaced it comes as the merged message.
  for (const auto& c : p.casts) {
    casts_[c.hash] = deleted ? std::nullopt : std::optional<CastRow>(c);
  }
  for (const auto& r : p.reactions) {
    reactions_[reaction_key(r)] = deleted ? std::nullopt : std::optional<ReactionRow>(r);
  }
  for (const auto& l : p.links) {
    links_[{l.fid, l.target_fid}] = deleted ? std::nullopt : std::optional<LinkRow>(l);
  }
  for (const auto& w : p.wallets) {
    wallets_[{w.chain, w.address}] = {w, !deleted};
  }
  if (deleted) {
    return;  // a replaced user data value is simply overwritten by the merged one
  }
  for (const auto& h : p.removed_casts) {
    casts_[h] = std::nullopt;
  }
  for (const auto& r : p.removed_reactions) {
    reactions_[reaction_key(r)] = std::nullopt;
  }
  for (const auto& l : p.removed_links) {
    links_[{l.fid, l.target_fid}] = std::nullopt;
  }
  for (const auto& w : p.removed_wallets) {
    wallets_[{w.chain, w.address}] = {w, false};
  }
  for (const auto& [type, value] : p.user_data) {
    user_data_[{p.user_data_fid, type}] = value;
  }
}

void EventBatch::add(const HubEvent& e) {
  ++events_;
  put(e.deleted, true);
  put(e.merged, false);
}

BatchRows EventBatch::rows() const {
  BatchRows out;
  for (const auto& [hash, row] : casts_) {
    if (row) {
      out.casts.push_back(*row);
    } else {
      out.removed_casts.push_back(hash);
    }
  }
  for (const auto& [key, row] : reactions_) {
    if (row) {
      out.reactions.push_back(*row);
    } else {
      const auto& [fid, kind, hash, url] = key;
      out.removed_reactions.push_back({fid, hash, url, kind, 0});
    }
  }
  for (const auto& [key, row] : links_) {
    if (row) {
      out.links.push_back(*row);
    } else {
      out.removed_links.push_back({key.first, key.second, 0});
    }
  }
  for (const auto& [key, w] : wallets_) {
    (w.second ? out.wallets : out.unlinked_wallets).push_back(w.first);
  }
  for (const auto& [key, value] : user_data_) {
    out.user_data.push_back({key.first, key.second, value});
  }
  return out;
}

}  // namespace socialai::farcaster
