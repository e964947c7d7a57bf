-- EVM workers (ethereum, base): indexes for the reorg rollback (DELETE ... WHERE chain = $1 AND
-- block_number > $2) and for reading a wallet's transactions.
CREATE INDEX IF NOT EXISTS chain_transactions_chain_block_idx
  ON chain_transactions (chain, block_number);
CREATE INDEX IF NOT EXISTS chain_transactions_from_idx
  ON chain_transactions (chain, from_address);
CREATE INDEX IF NOT EXISTS chain_transactions_to_idx
  ON chain_transactions (chain, to_address);
