// Borsh decoding/encoding of Metaplex metadata accounts and base64 (see metaplex.h).
#include "workers/solana/metaplex.h"

#include <sodium.h>

#include "workers/solana/base58.h"

namespace socialai::solana {
namespace {

// Bounds-checked little-endian reader over account data.
class Reader {
 public:
  explicit Reader(const std::vector<std::uint8_t>& d) : d_(d) {}

  void need(std::size_t n, const char* field) const {
    if (d_.size() - pos_ < n) {
      throw MetadataError(std::string("metadata account truncated at ") + field + ": needs " +
                          std::to_string(n) + " bytes at offset " + std::to_string(pos_) +
                          ", account has " + std::to_string(d_.size()));
    }
  }
  std::uint8_t u8(const char* field) {
    need(1, field);
    return d_[pos_++];
  }
  bool boolean(const char* field) {
    const std::uint8_t b = u8(field);
    if (b > 1) {
      throw MetadataError(std::string("metadata ") + field + " is not a bool (" +
                          std::to_string(b) + ")");
    }
    return b == 1;
  }
  std::uint32_t u32(const char* field) {
    need(4, field);
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) {
      v = (v << 8) | d_[pos_ + static_cast<std::size_t>(i)];
    }
    pos_ += 4;
    return v;
  }
  std::uint16_t u16(const char* field) {
    need(2, field);
    const auto v = static_cast<std::uint16_t>(d_[pos_] | (d_[pos_ + 1] << 8));
    pos_ += 2;
    return v;
  }
  std::string pubkey(const char* field) {
    need(32, field);
    std::string s = base58_encode(d_.data() + pos_, 32);
    pos_ += 32;
    return s;
  }
  std::string string(const char* field) {
    const std::uint32_t len = u32(field);
    if (len > d_.size() - pos_) {
      throw MetadataError(std::string("metadata ") + field + " length " + std::to_string(len) +
                          " exceeds the remaining " + std::to_string(d_.size() - pos_) +
                          " bytes");
    }
    std::string s(reinterpret_cast<const char*>(d_.data() + pos_), len);
    pos_ += len;
    const auto nul = s.find('\0');
    if (nul != std::string::npos) {
      s.resize(nul);
    }
    return s;
  }

 private:
  const std::vector<std::uint8_t>& d_;
  std::size_t pos_ = 0;
};

void put_string(std::vector<std::uint8_t>& out, const std::string& s, std::size_t pad,
                const char* field) {
  if (s.size() > pad) {
    throw std::invalid_argument(std::string("metadata ") + field + " longer than " +
                                std::to_string(pad) + " bytes");
  }
  const auto len = static_cast<std::uint32_t>(pad);
  for (int i = 0; i < 4; ++i) {
    out.push_back(static_cast<std::uint8_t>(len >> (8 * i)));
  }
  out.insert(out.end(), s.begin(), s.end());
  out.insert(out.end(), pad - s.size(), 0);
}

void put_pubkey(std::vector<std::uint8_t>& out, const std::string& b58, const char* field) {
  const auto bytes = base58_decode(b58);
  if (!bytes || bytes->size() != 32) {
    throw std::invalid_argument(std::string("metadata ") + field + " is not a public key");
  }
  out.insert(out.end(), bytes->begin(), bytes->end());
}

}  // namespace

nlohmann::json TokenMetadata::to_json() const {
  nlohmann::json cs = nlohmann::json::array();
  for (const auto& c : creators) {
    cs.push_back({{"address", c.address}, {"verified", c.verified}, {"share", c.share}});
  }
  return {{"name", name},
          {"symbol", symbol},
          {"uri", uri},
          {"update_authority", update_authority},
          {"mint", mint},
          {"seller_fee_basis_points", seller_fee_basis_points},
          {"creators", cs},
          {"primary_sale_happened", primary_sale_happened},
          {"is_mutable", is_mutable}};
}

TokenMetadata decode_metadata(const std::vector<std::uint8_t>& data) {
  Reader r(data);
  const std::uint8_t key = r.u8("key");
  if (key != kMetadataV1Key) {
    throw MetadataError("not a MetadataV1 account (key " + std::to_string(key) + ", expected 4)");
  }
  TokenMetadata m;
  m.update_authority = r.pubkey("update_authority");
  m.mint = r.pubkey("mint");
  m.name = r.string("name");
  m.symbol = r.string("symbol");
  m.uri = r.string("uri");
  m.seller_fee_basis_points = r.u16("seller_fee_basis_points");
  if (r.boolean("creators option")) {
    const std::uint32_t n = r.u32("creators length");
    r.need(static_cast<std::size_t>(n) * 34, "creators");  // checked before any allocation
    for (std::uint32_t i = 0; i < n; ++i) {
      Creator c;
      c.address = r.pubkey("creator address");
      c.verified = r.boolean("creator verified");
      c.share = r.u8("creator share");
      m.creators.push_back(std::move(c));
    }
  }
  m.primary_sale_happened = r.boolean("primary_sale_happened");
  m.is_mutable = r.boolean("is_mutable");
  return m;
}

std::vector<std::uint8_t> encode_metadata(const TokenMetadata& m) {
  std::vector<std::uint8_t> out;
  out.reserve(kMaxMetadataLen);
  out.push_back(kMetadataV1Key);
  put_pubkey(out, m.update_authority, "update_authority");
  put_pubkey(out, m.mint, "mint");
  put_string(out, m.name, 32, "name");
  put_string(out, m.symbol, 10, "symbol");
  put_string(out, m.uri, 200, "uri");
  out.push_back(static_cast<std::uint8_t>(m.seller_fee_basis_points & 0xff));
  out.push_back(static_cast<std::uint8_t>(m.seller_fee_basis_points >> 8));
  if (m.creators.empty()) {
    out.push_back(0);
  } else {
    out.push_back(1);
    const auto n = static_cast<std::uint32_t>(m.creators.size());
    for (int i = 0; i < 4; ++i) {
      out.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
    }
    for (const auto& c : m.creators) {
      put_pubkey(out, c.address, "creator address");
      out.push_back(c.verified ? 1 : 0);
      out.push_back(c.share);
    }
  }
  out.push_back(m.primary_sale_happened ? 1 : 0);
  out.push_back(m.is_mutable ? 1 : 0);
  if (out.size() < kMaxMetadataLen) {
    out.resize(kMaxMetadataLen, 0);
  }
  return out;
}

std::vector<std::uint8_t> base64_decode(std::string_view text) {
  if (sodium_init() < 0) {
    throw MetadataError("libsodium failed to initialise");
  }
  std::vector<std::uint8_t> out(text.size() / 4 * 3 + 3);
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    throw MetadataError("account data is not valid base64");
  }
  out.resize(len);
  return out;
}

std::string base64_encode(const std::vector<std::uint8_t>& data) {
  std::string out(sodium_base64_ENCODED_LEN(data.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), data.data(), data.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

}  // namespace socialai::solana
