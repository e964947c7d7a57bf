// The EVM worker's SQL. Rows travel as one jsonb parameter (jsonb_to_recordset), so every
// batch is one parameterized multi-row statement. $1 is always the chain name.
#pragma once

namespace socialai::evm {

// $1: jsonb array of `wallets.chain` values.
constexpr const char* kTrackedWalletsSql = R"sql(
SELECT DISTINCT lower(address) FROM wallets
WHERE chain IN (SELECT jsonb_array_elements_text($1::jsonb)))sql";

constexpr const char* kReadCursorSql =
    "SELECT cursor FROM sync_state WHERE worker = $1 AND key = $2";

constexpr const char* kWriteCursorSql = R"sql(
INSERT INTO sync_state (worker, key, cursor, updated_at) VALUES ($1, $2, $3, now())
ON CONFLICT (worker, key) DO UPDATE SET cursor = EXCLUDED.cursor, updated_at = now())sql";

// $2: [{hash, block_number, block_hash, block_time, from, to, value, status}].
constexpr const char* kUpsertTxSql = R"sql(
INSERT INTO chain_transactions (chain, hash, block_number, block_hash, block_time, from_address,
                                to_address, value, status)
SELECT $1, x.hash, x.block_number, x.block_hash, to_timestamp(x.block_time), x."from", x."to",
       x.value::numeric, x.status
FROM jsonb_to_recordset($2::jsonb) AS x(hash text, block_number bigint, block_hash text,
                                        block_time bigint, "from" text, "to" text, value text,
                                        status text)
ON CONFLICT (chain, hash) DO UPDATE SET
  block_number = EXCLUDED.block_number, block_hash = EXCLUDED.block_hash,
  block_time = EXCLUDED.block_time, from_address = EXCLUDED.from_address,
  to_address = EXCLUDED.to_address, value = EXCLUDED.value, status = EXCLUDED.status)sql";

// $2: the fork point; everything above it was on the abandoned branch.
constexpr const char* kRollbackTxSql =
    "DELETE FROM chain_transactions WHERE chain = $1 AND block_number > $2";

// $2: [{address, contract, token_id}] seen received in Transfer logs; verified by ownerOf later.
constexpr const char* kInsertHoldingSql = R"sql(
INSERT INTO nft_holdings (chain, address, contract, token_id, updated_at)
SELECT $1, x.address, x.contract, x.token_id, now()
FROM jsonb_to_recordset($2::jsonb) AS x(address text, contract text, token_id text)
ON CONFLICT DO NOTHING)sql";

// $2: [{contract, token_id, owner}]: the owner now (null: the token does not exist); rows of
// those tokens held by anyone else go.
constexpr const char* kDeleteOtherHoldersSql = R"sql(
DELETE FROM nft_holdings h USING jsonb_to_recordset($2::jsonb)
  AS x(contract text, token_id text, owner text)
WHERE h.chain = $1 AND h.contract = x.contract AND h.token_id = x.token_id
  AND h.address IS DISTINCT FROM x.owner)sql";

// $2: [{address, balance}]. A new row of another EVM chain takes the profile link of the
// address's 'ethereum' row (Farcaster verifications).
constexpr const char* kUpsertWalletSql = R"sql(
INSERT INTO wallets (chain, address, native_balance, profile_source, profile_external_id,
                     updated_at)
SELECT $1, x.address, x.balance::numeric, e.profile_source, e.profile_external_id, now()
FROM jsonb_to_recordset($2::jsonb) AS x(address text, balance text)
LEFT JOIN wallets e ON $1 <> 'ethereum' AND e.chain = 'ethereum' AND e.address = x.address
ON CONFLICT (chain, address) DO UPDATE SET
  native_balance = EXCLUDED.native_balance, updated_at = now())sql";

// $2: [{address, ens}]: verified names, null where there is none (clearing an old one).
constexpr const char* kUpdateEnsSql = R"sql(
UPDATE wallets w SET ens_name = x.ens
FROM jsonb_to_recordset($2::jsonb) AS x(address text, ens text)
WHERE w.chain = $1 AND w.address = x.address AND w.ens_name IS DISTINCT FROM x.ens)sql";

// $2: [{address, token, symbol, decimals, balance}]; zero balances delete the row.
constexpr const char* kUpsertTokenBalanceSql = R"sql(
WITH x AS (
  SELECT * FROM jsonb_to_recordset($2::jsonb)
    AS r(address text, token text, symbol text, decimals integer, balance text)
), gone AS (
  DELETE FROM token_balances t USING x
  WHERE t.chain = $1 AND t.address = x.address AND t.token = x.token AND x.balance = '0'
)
INSERT INTO token_balances (chain, address, token, symbol, decimals, balance, updated_at)
SELECT $1, address, token, symbol, decimals, balance::numeric, now() FROM x WHERE balance <> '0'
ON CONFLICT (chain, address, token) DO UPDATE SET
  symbol = EXCLUDED.symbol, decimals = EXCLUDED.decimals, balance = EXCLUDED.balance,
  updated_at = now())sql";

constexpr const char* kHoldingsSql =
    "SELECT address, contract, token_id FROM nft_holdings WHERE chain = $1 "
    "ORDER BY contract, token_id, address";

// $2: [{address, contract, token_id}] no longer owned by that address.
constexpr const char* kDeleteHoldingSql = R"sql(
DELETE FROM nft_holdings h USING jsonb_to_recordset($2::jsonb)
  AS x(address text, contract text, token_id text)
WHERE h.chain = $1 AND h.address = x.address AND h.contract = x.contract
  AND h.token_id = x.token_id)sql";

// $2: [{address, contract, token_id, metadata}].
constexpr const char* kUpdateHoldingSql = R"sql(
UPDATE nft_holdings h SET metadata = x.metadata, updated_at = now()
FROM jsonb_to_recordset($2::jsonb) AS x(address text, contract text, token_id text, metadata jsonb)
WHERE h.chain = $1 AND h.address = x.address AND h.contract = x.contract
  AND h.token_id = x.token_id)sql";

}  // namespace socialai::evm
