// Text helpers shared by the local provider, topic labels and tests: tokenising, stop words,
// a light suffix stripper and a stable 64-bit hash. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace socialai::ai {

// Lower-cased ASCII word tokens: letters, digits, and an apostrophe inside a word ("don't").
// Bytes >= 0x80 (UTF-8) are kept inside words so non-English words survive as tokens.
std::vector<std::string> tokenize(std::string_view text);

// English function words ("the", "and", ...) that carry no topic.
bool is_stop_word(std::string_view word);

// Crude English suffix stripping ("sitting" -> "sitt", "prices" -> "price"), so that inflected
// forms share a feature. Not a real stemmer; words of 4 bytes or fewer are returned unchanged.
std::string light_stem(std::string_view word);

// FNV-1a, 64-bit; `seed` separates feature kinds. Stable across runs and machines.
std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t seed = 0xcbf29ce484222325ULL);

// Sentences of `text` (split after . ! ? or a newline), trimmed, empty ones dropped.
std::vector<std::string> split_sentences(std::string_view text);

// Collapses runs of whitespace to one space and trims.
std::string squash_space(std::string_view text);

// At most `max_bytes`, cut at a word boundary (and never inside a UTF-8 sequence), with "..."
// appended when cut.
std::string clip_words(std::string_view text, std::size_t max_bytes);

}  // namespace socialai::ai
