// Multicall3 (mds1/multicall, one contract at the same address on most EVM chains): the ABI of
// aggregate3((address target, bool allowFailure, bytes callData)[]) → (bool success,
// bytes returnData)[] and getEthBalance(address), so many eth_calls travel as one. Pure
// functions; hostile return data throws AbiError.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace socialai::evm {

constexpr const char* kMulticall3Address = "0xca11bde05977b3631167028862be2a173976ca11";

// Calldata of aggregate3 with allowFailure = true for every (target, callData "0x...") call.
std::string aggregate3_calldata(const std::vector<std::pair<std::string, std::string>>& calls);
// Calldata of getEthBalance(address).
std::string get_eth_balance_calldata(std::string_view address);
// aggregate3's return data → (success, returnData "0x...") per call; throws AbiError when it
// is not a (bool,bytes)[] of `expected` elements (e.g. "0x" from an address without code).
std::vector<std::pair<bool, std::string>> decode_aggregate3(std::string_view data,
                                                            std::size_t expected);

}  // namespace socialai::evm
