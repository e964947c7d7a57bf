// OpenAI-compatible answers: /v1/embeddings and /v1/chat/completions bodies and the
// x-ratelimit reset durations. Rejections only as ProviderError / ItemError; accepted
// embeddings have the count asked for.
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "workers/ai/openai_provider.h"

using namespace socialai::ai;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(socialai::fuzz::as_view(data, size));
  socialai::fuzz::Choices choices(body);
  const std::size_t expected = choices.next(1, 4);
  socialai::fuzz::only_declared_errors<ProviderError, ItemError>([&] {
    Usage usage;
    const auto vectors = OpenAiProvider::parse_embeddings(body, expected, &usage);
    FUZZ_CHECK(vectors.size() == expected);
  });
  socialai::fuzz::only_declared_errors<ProviderError, ItemError>([&] {
    Usage usage;
    OpenAiProvider::parse_chat(body, &usage);
  });
  OpenAiProvider::parse_reset(body.substr(0, 32));
  return 0;
}
