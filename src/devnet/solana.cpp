// Placeholder: the solana simulator is not written yet (the devnet serves no solana routes).
#include "devnet/devnet.h"

namespace socialai::devnet {

std::unique_ptr<Service> make_solana_service(Options&, std::uint64_t) { return nullptr; }

}  // namespace socialai::devnet
