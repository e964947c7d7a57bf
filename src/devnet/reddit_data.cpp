// Deterministic generation of the devnet's Reddit data (see reddit_data.h).
#include "devnet/reddit_data.h"

#include <algorithm>
#include <array>
#include <string_view>
#include <tuple>

namespace socialai::devnet::reddit {
namespace {

constexpr int kIdShift = 24;             // room for 16M posts/comments per subreddit

constexpr std::array<std::string_view, 40> kWords = {
    "ethereum", "rollup",   "validator", "staking", "wallet",   "bridge",  "layer",  "gas",
    "fees",     "solana",   "bitcoin",   "market",  "defi",     "token",   "nft",    "airdrop",
    "governance", "proposal", "upgrade", "client",  "node",     "mempool", "block",  "chain",
    "privacy",  "security", "audit",     "exploit", "liquidity", "yield",  "swap",   "oracle",
    "community", "question", "guide",    "news",    "analysis", "weekly",  "thread", "discussion"};

constexpr std::array<std::string_view, 12> kSyllables = {"ka", "lo", "mi", "ne", "ra", "su",
                                                         "to", "vi", "ze", "do", "fa", "gu"};

// FNV-1a, so a subreddit's data depends on its name and the seed only.
std::uint64_t hash_name(std::string_view s, std::uint64_t seed) {
  std::uint64_t h = 1469598103934665603ULL ^ seed;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

int uniform(std::mt19937_64& rng, int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}

std::string words(std::mt19937_64& rng, int count) {
  std::string out;
  for (int i = 0; i < count; ++i) {
    if (i > 0) {
      out += ' ';
    }
    out += kWords[static_cast<std::size_t>(uniform(rng, 0, kWords.size() - 1))];
  }
  return out;
}

int pick_author(std::mt19937_64& rng, int authors) {
  // About one item in 30 has a deleted author, as on the real site.
  return uniform(rng, 0, 29) == 0 ? -1 : uniform(rng, 0, authors - 1);
}

}  // namespace

std::string base36(std::uint64_t n) {
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string out;
  do {
    out.insert(out.begin(), kDigits[n % 36]);
    n /= 36;
  } while (n != 0);
  return out;
}

std::vector<Author> make_authors(std::uint64_t seed, int count) {
  std::mt19937_64 rng(seed ^ 0x5eddau);
  std::vector<Author> out;
  for (int i = 0; i < count; ++i) {
    std::string name;
    for (int s = 0; s < 3; ++s) {
      name += kSyllables[static_cast<std::size_t>(uniform(rng, 0, kSyllables.size() - 1))];
    }
    name += "_" + std::to_string(i);
    // Distinct per index (the low bits), scattered like real t2 ids (the high bits).
    const std::uint64_t id = (rng() % 4096 + 1) << 20 | static_cast<std::uint64_t>(i);
    out.push_back({name, "t2_" + base36(id)});
  }
  return out;
}

Subreddit::Subreddit(std::string name, std::uint64_t seed, const Sizes& sizes)
    : name_(std::move(name)), sizes_(sizes), rng_(hash_name(name_, seed)) {
  const std::uint64_t h = hash_name(name_, seed ^ 0x9e3779b97f4a7c15ULL);
  sub_id_ = (h % 1000000) + 100000;
  post_base_ = ((h >> 20) % 65536 + 1) << kIdShift;
  comment_base_ = ((h >> 40) % 65536 + 65537) << kIdShift;
  clock_ = sizes_.epoch + static_cast<double>(h % 3600);
  add_posts(std::max(0, sizes_.posts_per_sub));
}

void Subreddit::grow(int count) { add_posts(std::max(0, count)); }

void Subreddit::add_posts(int count) {
  const int authors = std::max(1, sizes_.authors);
  // (time, post, local index) of every new comment, to be numbered in time order.
  std::vector<std::tuple<double, std::size_t, std::size_t>> order;
  std::vector<std::vector<Comment>> local;  // per new post, in time order
  double t = clock_;
  const std::size_t first = posts_.size();
  for (int k = 0; k < count; ++k) {
    const double gap = uniform(rng_, 300, 900);
    t += gap;
    Post p;
    p.id = post_base_ + posts_.size();
    p.title = words(rng_, uniform(rng_, 3, 8));
    if (uniform(rng_, 0, 3) == 0) {
      p.link_url = "https://example.com/" + words(rng_, 1) + "/" + std::to_string(p.id % 10007);
    } else {
      p.selftext = words(rng_, uniform(rng_, 5, 40));
    }
    p.author = pick_author(rng_, authors);
    p.created = t;
    p.score = uniform(rng_, 0, 5000);
    // Most posts get comments_per_post comments; about one in eight gets none.
    p.num_comments = uniform(rng_, 0, 7) == 0 ? 0 : std::max(0, sizes_.comments_per_post);
    const bool big = sizes_.big_thread_every > 0 && posts_.size() % sizes_.big_thread_every == 0;
    if (big) {
      p.num_comments = std::max(1, sizes_.big_thread_comments);
    }

    std::vector<double> times;
    for (int j = 0; j < p.num_comments; ++j) {
      times.push_back(t + uniform(rng_, 5, static_cast<int>(3 * gap)));
    }
    std::sort(times.begin(), times.end());
    std::vector<Comment> cs;
    for (std::size_t j = 0; j < times.size(); ++j) {
      Comment c;
      c.post = posts_.size();
      if (big && j > 0 && uniform(rng_, 0, 9) < 8) {
        // Half the replies answer the comment just before: chains deeper than a tree shows.
        c.parent = uniform(rng_, 0, 1) == 0
                       ? j - 1
                       : static_cast<std::size_t>(uniform(rng_, 0, static_cast<int>(j) - 1));
      } else if (!big && j > 0 && uniform(rng_, 0, 9) < 4) {
        c.parent = static_cast<std::size_t>(uniform(rng_, 0, static_cast<int>(j) - 1));  // local
      }
      c.author = pick_author(rng_, authors);
      c.body = words(rng_, uniform(rng_, 2, 25));
      c.created = times[j];
      c.score = uniform(rng_, -20, 500);
      cs.push_back(std::move(c));
      order.emplace_back(times[j], posts_.size() - first, j);
    }
    local.push_back(std::move(cs));
    posts_.push_back(std::move(p));
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return std::get<0>(a) < std::get<0>(b); });
  // Local parent indexes become global ones: a parent is older, so it is numbered first.
  std::vector<std::vector<std::size_t>> global(local.size());
  for (std::size_t p = 0; p < local.size(); ++p) {
    global[p].resize(local[p].size());
  }
  for (const auto& [time, p, j] : order) {
    Comment c = local[p][j];
    c.id = comment_base_ + comments_.size();
    if (c.parent) {
      c.parent = global[p][*c.parent];
    }
    global[p][j] = comments_.size();
    comments_.push_back(std::move(c));
    clock_ = std::max(clock_, time);
  }
  clock_ = std::max(clock_, t);
}

void Subreddit::add_comments(std::size_t post, int count) {
  Post& p = posts_.at(post);
  std::vector<std::size_t> thread;  // the post's comments so far, as global indexes
  for (std::size_t i = 0; i < comments_.size(); ++i) {
    if (comments_[i].post == post) {
      thread.push_back(i);
    }
  }
  const int authors = std::max(1, sizes_.authors);
  for (int k = 0; k < count; ++k) {
    Comment c;
    c.id = comment_base_ + comments_.size();
    c.post = post;
    if (!thread.empty() && uniform(rng_, 0, 1) == 0) {
      c.parent = thread[static_cast<std::size_t>(uniform(rng_, 0, static_cast<int>(thread.size()) - 1))];
    }
    c.author = pick_author(rng_, authors);
    c.body = words(rng_, uniform(rng_, 2, 25));
    clock_ += uniform(rng_, 5, 60);
    c.created = clock_;
    c.score = uniform(rng_, -20, 500);
    thread.push_back(comments_.size());
    comments_.push_back(std::move(c));
    ++p.num_comments;
  }
}

}  // namespace socialai::devnet::reddit
