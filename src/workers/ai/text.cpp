// Tokenising, stop words, suffix stripping, hashing and sentence splitting for the AI worker.
#include "workers/ai/text.h"

#include <algorithm>
#include <iterator>
#include <cctype>

namespace socialai::ai {
namespace {

// Sorted, for binary search.
constexpr std::string_view kStopWords[] = {
    "a",      "about", "above",   "after",  "again",  "all",     "also",   "am",     "an",
    "and",    "any",   "are",     "as",     "at",     "be",      "been",   "before", "being",
    "below",  "both",  "but",     "by",     "can",    "could",   "did",    "do",     "does",
    "doing",  "down",  "during",  "each",   "few",    "for",     "from",   "further", "get",
    "got",    "had",   "has",     "have",   "having", "he",      "her",    "here",   "hers",
    "him",    "his",   "how",     "i",      "if",     "in",      "into",   "is",     "it",
    "it's",   "its",   "just",    "let",    "me",     "more",    "most",   "my",     "now",
    "of",     "off",   "on",      "once",   "only",   "or",      "other",  "our",    "ours",
    "out",    "over",  "own",     "same",   "she",    "should",  "so",     "some",   "such",
    "than",   "that",  "the",     "their",  "them",   "then",    "there",  "these",  "they",
    "this",   "those", "through", "to",     "too",    "under",   "until",  "up",     "us",
    "very",   "was",   "we",      "were",   "what",   "when",    "where",  "which",  "while",
    "who",    "whom",  "why",     "will",   "with",   "would",   "you",    "your",   "yours",
    "i'm",    "i've",  "we're",   "you're", "they're", "that's", "there's", "what's", "via",
    "really", "one",   "im"};

bool word_byte(unsigned char c) { return std::isalnum(c) != 0 || c >= 0x80; }

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

std::vector<std::string> tokenize(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (word_byte(c)) {
      cur.push_back(static_cast<char>(std::tolower(c)));
    } else if ((c == '\'' || c == 0x60) && !cur.empty() && i + 1 < text.size() &&
               word_byte(static_cast<unsigned char>(text[i + 1]))) {
      cur.push_back('\'');
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) {
    out.push_back(std::move(cur));
  }
  return out;
}

bool is_stop_word(std::string_view word) {
  static const auto sorted = [] {
    std::vector<std::string_view> a(std::begin(kStopWords), std::end(kStopWords));
    std::sort(a.begin(), a.end());
    return a;
  }();
  return std::binary_search(sorted.begin(), sorted.end(), word);
}

std::string light_stem(std::string_view w) {
  if (w.size() <= 4) {
    return std::string(w);
  }
  for (std::string_view suffix : {"ing", "ed", "es", "ly"}) {
    if (ends_with(w, suffix) && w.size() - suffix.size() >= 3) {
      return std::string(w.substr(0, w.size() - suffix.size()));
    }
  }
  if (ends_with(w, "s") && !ends_with(w, "ss")) {
    return std::string(w.substr(0, w.size() - 1));
  }
  return std::string(w);
}

std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t seed) {
  std::uint64_t h = seed;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::vector<std::string> split_sentences(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  auto flush = [&](std::size_t end) {
    std::string s = squash_space(text.substr(start, end - start));
    if (!s.empty()) {
      out.push_back(std::move(s));
    }
    start = end;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      flush(i + 1);
    } else if ((c == '.' || c == '!' || c == '?') &&
               (i + 1 == text.size() || std::isspace(static_cast<unsigned char>(text[i + 1])))) {
      flush(i + 1);
    }
  }
  flush(text.size());
  return out;
}

std::string squash_space(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool space = false;
  for (const char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) != 0) {
      space = !out.empty();
    } else {
      if (space) {
        out.push_back(' ');
        space = false;
      }
      out.push_back(c);
    }
  }
  return out;
}

std::string clip_words(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) {
    return std::string(text);
  }
  std::size_t cut = max_bytes;
  while (cut > 0 && text[cut] != ' ') {
    --cut;
  }
  if (cut == 0) {  // one long word: cut on a UTF-8 boundary
    cut = max_bytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
      --cut;
    }
  }
  return std::string(text.substr(0, cut)) + "...";
}

}  // namespace socialai::ai
