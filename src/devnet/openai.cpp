// Placeholder: the openai simulator is not written yet (the devnet serves no openai routes).
#include "devnet/devnet.h"

namespace socialai::devnet {

std::unique_ptr<Service> make_openai_service(Options&, std::uint64_t) { return nullptr; }

}  // namespace socialai::devnet
