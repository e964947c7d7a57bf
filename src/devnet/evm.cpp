// Placeholder: the evm simulator is not written yet (the devnet serves no evm routes).
#include "devnet/devnet.h"

namespace socialai::devnet {

std::unique_ptr<Service> make_evm_service(Options&, std::uint64_t) { return nullptr; }

}  // namespace socialai::devnet
