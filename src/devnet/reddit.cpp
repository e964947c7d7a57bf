// Placeholder: the reddit simulator is not written yet (the devnet serves no reddit routes).
#include "devnet/devnet.h"

namespace socialai::devnet {

std::unique_ptr<Service> make_reddit_service(Options&, std::uint64_t) { return nullptr; }

}  // namespace socialai::devnet
