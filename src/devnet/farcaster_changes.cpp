// DataSet::change: the Farcaster devnet's data set changing over time (new casts, reactions and
// follows, removes, prunes, revokes, profile updates), one change per hub event. Every change is
// timestamped after everything so far, so the per-fid listings stay in hub key order.
#include <algorithm>
#include <stdexcept>

#include "devnet/farcaster_data.h"

namespace socialai::devnet::fc {

std::optional<Change> DataSet::change(ChangeKind kind, std::uint64_t fid,
                                      std::vector<Change>* materialised) {
  if (fid < 1 || fid > accounts_.size()) {
    throw std::invalid_argument("unknown fid " + std::to_string(fid));
  }
  Account& a = accounts_[fid - 1];
  if (a.fid == 0) {  // a registered fid's first message: its profile comes first
    a.fid = fid;
    add_user_data(a, ++clock_);
    for (std::size_t i = 0; materialised != nullptr && i < a.user_data.size(); ++i) {
      materialised->push_back({ChangeKind::kUserData, fid, i, {}});
    }
  }
  switch (kind) {
    case ChangeKind::kCastAdd:
    case ChangeKind::kCastRemove:
    case ChangeKind::kCastPrune:
      return change_casts(kind, a);
    case ChangeKind::kReactionAdd:
    case ChangeKind::kReactionRemove:
    case ChangeKind::kReactionRevoke:
      return change_reactions(kind, a);
    case ChangeKind::kLinkAdd:
    case ChangeKind::kLinkRemove:
      return change_follows(kind, a);
    case ChangeKind::kUserData: {
      const std::size_t i = next() % a.user_data.size();
      UserData& u = a.user_data[i];
      Change c{kind, a.fid, i, u};
      u.ts = ++clock_;
      u.hash = next_hash();
      if (u.type == "USER_DATA_TYPE_BIO") {
        u.value = "bio of fid " + std::to_string(a.fid) + ": " + bio_word() + " " + bio_word();
      } else if (u.type == "USER_DATA_TYPE_DISPLAY") {
        u.value = "User " + std::to_string(a.fid) + " (" + std::to_string(u.ts % 1000) + ")";
      } else if (u.type == "USER_DATA_TYPE_PFP") {
        u.value = "https://i.example.com/pfp/" + std::to_string(a.fid) + "-" +
                  std::to_string(u.ts) + ".png";
      }  // usernames stay: they are claimed names
      return c;
    }
  }
  return std::nullopt;
}

std::optional<Change> DataSet::change_casts(ChangeKind kind, Account& a) {
  if (kind == ChangeKind::kCastAdd) {
    a.casts.push_back(make_cast(a.fid, ++clock_, a.casts.size()));
    rebuild_log(a);
    return Change{kind, a.fid, a.casts.size() - 1, {}};
  }
  // The oldest live cast goes: removes are what users do, prunes what a full storage unit does.
  for (std::size_t i = 0; i < a.casts.size(); ++i) {
    Cast& c = a.casts[i];
    if (c.removed || c.pruned) {
      continue;
    }
    if (kind == ChangeKind::kCastRemove) {
      c.removed = true;
      c.remove_ts = ++clock_;
      c.remove_hash = next_hash();
    } else {
      c.pruned = true;
    }
    rebuild_log(a);
    return Change{kind, a.fid, i, {}};
  }
  return std::nullopt;
}

std::optional<Change> DataSet::change_reactions(ChangeKind kind, Account& a) {
  if (kind == ChangeKind::kReactionAdd) {
    if (all_casts_.empty()) {
      return std::nullopt;
    }
    Reaction r;
    r.fid = a.fid;
    r.type = next() % 10 < 7 ? 1 : 2;
    r.target = all_casts_[next() % all_casts_.size()];
    const bool taken = std::any_of(a.reactions.begin(), a.reactions.end(), [&](const auto& x) {
      return !x.removed && x.type == r.type && x.target_url.empty() &&
             x.target.hash == r.target.hash;
    });
    if (taken) {
      return std::nullopt;  // one live reaction of a type per target (the hub's CRDT)
    }
    r.ts = ++clock_;
    r.hash = next_hash();
    a.reactions.push_back(r);
    return Change{kind, a.fid, a.reactions.size() - 1, {}};
  }
  std::vector<std::size_t> live;
  for (std::size_t i = 0; i < a.reactions.size(); ++i) {
    if (!a.reactions[i].removed) {
      live.push_back(i);
    }
  }
  if (live.empty()) {
    return std::nullopt;
  }
  const std::size_t i = live[next() % live.size()];
  Reaction& r = a.reactions[i];
  r.removed = true;
  if (kind == ChangeKind::kReactionRemove) {
    r.remove_ts = ++clock_;
    r.remove_hash = next_hash();
  }
  return Change{kind, a.fid, i, {}};
}

std::optional<Change> DataSet::change_follows(ChangeKind kind, Account& a) {
  if (kind == ChangeKind::kLinkAdd) {
    const std::uint64_t target = 1 + next() % users_;
    const bool taken = std::any_of(a.links.begin(), a.links.end(),
                                   [&](const Link& l) { return !l.removed && l.target == target; });
    if (target == a.fid || taken) {
      return std::nullopt;
    }
    Link l;
    l.fid = a.fid;
    l.target = target;
    l.ts = ++clock_;
    l.hash = next_hash();
    a.links.push_back(l);
    return Change{kind, a.fid, a.links.size() - 1, {}};
  }
  for (std::size_t i = 0; i < a.links.size(); ++i) {
    Link& l = a.links[i];
    if (!l.removed) {
      l.removed = true;
      l.remove_ts = ++clock_;
      l.remove_hash = next_hash();
      return Change{kind, a.fid, i, {}};
    }
  }
  return std::nullopt;
}

}  // namespace socialai::devnet::fc
