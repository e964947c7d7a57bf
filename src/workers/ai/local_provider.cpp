// LocalProvider: hashed-feature embeddings, extractive summaries and AFINN sentiment.
#include "workers/ai/local_provider.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>

#include "workers/ai/text.h"

namespace socialai::ai {
namespace {

struct LexEntry {
  const char* word;
  int valence;
};

constexpr LexEntry kAfinn[] = {
#include "workers/ai/afinn165.inc"
};

const std::unordered_map<std::string_view, int>& lexicon() {
  static const auto m = [] {
    std::unordered_map<std::string_view, int> out;
    out.reserve(std::size(kAfinn));
    for (const auto& e : kAfinn) {
      out.emplace(e.word, e.valence);
    }
    return out;
  }();
  return m;
}

bool is_negator(std::string_view w) {
  static constexpr std::string_view kNeg[] = {
      "not",   "no",      "never",   "none",   "nobody", "nothing", "neither", "nor",
      "cannot", "cant",   "dont",    "doesnt", "didnt",  "isnt",    "wasnt",   "arent",
      "werent", "wont",   "wouldnt", "shouldnt", "couldnt", "aint", "hardly", "without",
      "nowhere"};
  if (w.size() > 3 && w.substr(w.size() - 3) == "n't") {
    return true;
  }
  return std::find(std::begin(kNeg), std::end(kNeg), w) != std::end(kNeg);
}

double booster(std::string_view w) {
  static constexpr std::string_view kUp[] = {"very",    "really", "extremely", "so",
                                             "totally", "super",  "incredibly", "absolutely",
                                             "truly",   "hugely", "most"};
  static constexpr std::string_view kDown[] = {"slightly", "somewhat", "barely", "kinda",
                                               "kindof",   "marginally", "little"};
  if (std::find(std::begin(kUp), std::end(kUp), w) != std::end(kUp)) {
    return 1.3;
  }
  if (std::find(std::begin(kDown), std::end(kDown), w) != std::end(kDown)) {
    return 0.7;
  }
  return 1.0;
}

// Feature kinds get their own hash seed and weight.
constexpr std::uint64_t kSeedWord = 0x9e3779b97f4a7c15ULL;
constexpr std::uint64_t kSeedBigram = 0xc2b2ae3d27d4eb4fULL;
constexpr std::uint64_t kSeedChar = 0x165667b19e3779f9ULL;
constexpr float kWeightWord = 1.0F;
constexpr float kWeightBigram = 0.6F;
constexpr float kWeightChar = 0.3F;

struct Feature {
  std::uint64_t hash;
  float weight;
};

}  // namespace

std::string sentiment_label(double score) {
  if (score >= 0.05) {
    return "positive";
  }
  if (score <= -0.05) {
    return "negative";
  }
  return "neutral";
}

float dot(const Vector& a, const Vector& b) {
  float s = 0;
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    s += a[i] * b[i];
  }
  return s;
}

LocalProvider::LocalProvider(int dims) : dims_(dims > 0 ? dims : kDefaultDims) {}

std::string LocalProvider::embedding_model() const {
  return "local-hash-v1-" + std::to_string(dims_);
}

std::vector<Vector> LocalProvider::embed(const std::vector<std::string>& texts) {
  std::vector<Vector> out;
  out.reserve(texts.size());
  for (const auto& t : texts) {
    out.push_back(embed_one(t));
  }
  return out;
}

Vector LocalProvider::embed_one(std::string_view text) const {
  std::vector<Feature> feats;
  std::string prev;
  std::string padded;
  for (const auto& tok : tokenize(text)) {
    if (is_stop_word(tok)) {
      continue;
    }
    const std::string stem = light_stem(tok);
    feats.push_back({fnv1a64(stem, kSeedWord), kWeightWord});
    if (!prev.empty()) {
      feats.push_back({fnv1a64(stem, fnv1a64(prev, kSeedBigram)), kWeightBigram});
    }
    padded.assign(1, '^');
    padded += tok;
    padded += '$';
    for (std::size_t i = 0; i + 3 <= padded.size(); ++i) {
      feats.push_back({fnv1a64(std::string_view(padded).substr(i, 3), kSeedChar), kWeightChar});
    }
    prev = stem;
  }
  // Sublinear TF: equal features are adjacent after sorting; each distinct one counts
  // weight * (1 + ln tf).
  std::sort(feats.begin(), feats.end(),
            [](const Feature& a, const Feature& b) { return a.hash < b.hash; });
  Vector v(static_cast<std::size_t>(dims_), 0.0F);
  const auto dims = static_cast<std::uint64_t>(dims_);
  for (std::size_t i = 0; i < feats.size();) {
    std::size_t j = i;
    while (j < feats.size() && feats[j].hash == feats[i].hash) {
      ++j;
    }
    const float w =
        feats[i].weight * (1.0F + std::log(static_cast<float>(j - i)));
    const std::uint64_t h = feats[i].hash;
    // Signed hashing keeps the projection unbiased: colliding features cancel on average.
    const float sign = (h >> 63) != 0 ? -1.0F : 1.0F;
    v[static_cast<std::size_t>((h >> 1) % dims)] += sign * w;
    i = j;
  }
  float norm = 0;
  for (const float x : v) {
    norm += x * x;
  }
  if (norm > 0) {
    const float inv = 1.0F / std::sqrt(norm);
    for (float& x : v) {
      x *= inv;
    }
  }
  return v;
}

double LocalProvider::sentiment(std::string_view text) {
  const auto tokens = tokenize(text);
  const auto& lex = lexicon();
  // Words before the last "but" count half, words after it 1.5 times (VADER's rule).
  std::size_t but_at = tokens.size();
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] == "but" || tokens[i] == "however") {
      but_at = i;
    }
  }
  double sum = 0;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const auto it = lex.find(tokens[i]);
    if (it == lex.end()) {
      continue;
    }
    double v = it->second;
    // Look back up to three words for boosters and negators ("not very good").
    for (std::size_t back = 1; back <= 3 && back <= i; ++back) {
      const std::string& w = tokens[i - back];
      if (back == 1) {
        v *= booster(w);
      }
      if (is_negator(w)) {
        v *= -0.74;
        break;
      }
    }
    if (but_at < tokens.size()) {
      v *= i < but_at ? 0.5 : (i > but_at ? 1.5 : 1.0);
    }
    sum += v;
  }
  const double score = sum / std::sqrt(sum * sum + 15.0);
  return std::clamp(score, -1.0, 1.0);
}

std::string LocalProvider::summarize(std::string_view text, std::size_t max_bytes) {
  const auto sentences = split_sentences(text);
  const std::string whole = squash_space(text);
  if (sentences.size() <= 2 || whole.size() <= max_bytes) {
    return clip_words(whole, max_bytes);
  }
  // Centrality: a sentence scores the document frequency of its content words, divided by
  // sqrt(length) so long sentences do not win by size; the first sentence gets a small bonus.
  std::unordered_map<std::string, int> tf;
  std::vector<std::vector<std::string>> words(sentences.size());
  for (std::size_t i = 0; i < sentences.size(); ++i) {
    for (auto& t : tokenize(sentences[i])) {
      if (!is_stop_word(t)) {
        std::string s = light_stem(t);
        ++tf[s];
        words[i].push_back(std::move(s));
      }
    }
  }
  std::vector<std::pair<double, std::size_t>> scored;
  for (std::size_t i = 0; i < sentences.size(); ++i) {
    double s = 0;
    for (const auto& w : words[i]) {
      s += tf[w];
    }
    s /= std::sqrt(static_cast<double>(words[i].size()) + 1.0);
    if (i == 0) {
      s *= 1.2;
    }
    scored.emplace_back(-s, i);  // best first, ties by position
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::size_t> pick;
  std::size_t used = 0;
  for (const auto& [neg, i] : scored) {
    if (pick.size() == 2 || (used > 0 && used + sentences[i].size() + 1 > max_bytes)) {
      break;
    }
    pick.push_back(i);
    used += sentences[i].size() + 1;
  }
  std::sort(pick.begin(), pick.end());
  std::string out;
  for (const std::size_t i : pick) {
    if (!out.empty()) {
      out += ' ';
    }
    out += sentences[i];
  }
  return clip_words(out, max_bytes);
}

Analysis LocalProvider::analyse(const std::string& text) {
  Analysis a;
  a.summary = summarize(text);
  a.sentiment = sentiment(text);
  a.label = sentiment_label(a.sentiment);
  return a;
}

}  // namespace socialai::ai
