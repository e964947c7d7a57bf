// Placeholder: the farcaster simulator is not written yet (the devnet serves no farcaster routes).
#include "devnet/devnet.h"

namespace socialai::devnet {

std::unique_ptr<Service> make_farcaster_service(Options&, std::uint64_t) { return nullptr; }

}  // namespace socialai::devnet
