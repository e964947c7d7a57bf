// EvmSync against a standard EVM node (ganache, when SOCIALAI_GANACHE_BIN names its executable;
// skipped otherwise, as Debian packages no Ethereum node): transfers, a contract creation, a
// reverted call, exact balances, and a real reorg made with evm_snapshot/evm_revert.
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <memory>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "common/http_client.h"
#include "common/json_rpc.h"
#include "common/migrate.h"
#include "manager_harness.h"
#include "test_context.h"
#include "test_db.h"
#include "workers/evm/evm_codec.h"
#include "workers/evm/evm_sync.h"

namespace socialai {
namespace {

using nlohmann::json;

// Init code deploying a contract whose every call reverts (PUSH1 0 PUSH1 0 REVERT).
constexpr const char* kRevertingContract = "0x6460006000fd6000526005601bf3";

class Ganache {
 public:
  explicit Ganache(const std::string& bin) : port_(testing::free_port()) {
    pid_ = fork();
    if (pid_ == 0) {
      const std::string port = std::to_string(port_);
      execl(bin.c_str(), bin.c_str(), "--server.host", "127.0.0.1", "--server.port", port.c_str(),
            "--chain.chainId", "1", "--wallet.totalAccounts", "5", "--wallet.deterministic",
            "--logging.quiet", static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~Ganache() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int port_;
  pid_t pid_ = -1;
};

TEST(EvmGanache, SyncsAStandardNodeAndRepairsARealReorg) {
  const char* bin = std::getenv("SOCIALAI_GANACHE_BIN");
  const char* db_url = std::getenv("SOCIALAI_TEST_DATABASE_URL");
  if (bin == nullptr || *bin == '\0' || db_url == nullptr || *db_url == '\0') {
    GTEST_SKIP() << "set SOCIALAI_GANACHE_BIN (and SOCIALAI_TEST_DATABASE_URL) to run";
  }
  Ganache node(bin);
  HttpClient::Options o;
  o.max_retries = 0;
  HttpClient http(o);
  JsonRpcClient rpc(http, node.url());
  json accounts;
  for (int i = 0; i < 100 && accounts.is_null(); ++i) {
    try {
      accounts = rpc.call("eth_accounts");
    } catch (const JsonRpcTransportError&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ASSERT_TRUE(accounts.is_array()) << "ganache did not come up";
  const auto send = [&](const json& tx) { return rpc.call("eth_sendTransaction", {tx}); };
  const json created =
      send({{"from", accounts[0]}, {"data", kRevertingContract}, {"gas", "0x30000"}});
  const std::string contract = rpc.call("eth_getTransactionReceipt", {created})["contractAddress"];
  send({{"from", accounts[1]}, {"to", contract}, {"gas", "0x30000"}});  // reverts, still mined
  for (int i = 0; i < 6; ++i) {
    send({{"from", accounts[i % 3]},
          {"to", accounts[(i + 1) % 5]},
          {"value", evm::decimal_to_hex(std::to_string(i + 1) + "000000000000012345")}});
  }

  testing::TestSchema schema;
  Db db(schema.url());
  ASSERT_TRUE(db.connect(nullptr, 3));
  apply_migrations(db.conn(), embedded_migrations());
  testing::TestContext ctx(db, "ethereum");
  ctx.settings_ = {
      {"rpc_url", node.url()},
      {"wallets", json(std::vector<json>{accounts[0], accounts[1], accounts[2]}).dump()},
      {"collections", json::array({accounts[4]}).dump()},
      {"confirmations", "1"},
      {"start_block", "0"},
      {"batch_size", "4"},
      {"ens", "false"}};
  EvmSync sync;
  sync.validate(ctx);
  const auto scalar = [&](const std::string& sql) {
    return db.with_transaction([&](pqxx::work& tx) { return db.exec(tx, sql)[0][0]; })
        .as<std::string>();
  };
  const auto check_against_node = [&] {
    const std::uint64_t safe =
        evm::parse_quantity(rpc.call("eth_blockNumber").get<std::string>()) - 1;
    std::set<std::string> expected, stored;
    for (std::uint64_t n = 1; n <= safe; ++n) {
      const json block = rpc.call("eth_getBlockByNumber", {evm::quantity(n), true});
      for (const auto& t : block["transactions"]) {
        expected.insert(t["hash"].get<std::string>());
      }
    }
    db.with_transaction([&](pqxx::work& tx) {
      for (const auto& r : db.exec(tx, "SELECT hash FROM chain_transactions")) {
        stored.insert(r[0].as<std::string>());
      }
    });
    EXPECT_EQ(stored, expected);  // every transaction here touches a tracked wallet
    for (int i = 0; i < 3; ++i) {
      const std::string a = accounts[i];
      EXPECT_EQ(scalar("SELECT native_balance::text FROM wallets WHERE address = '" + a + "'"),
                evm::hex_to_decimal(
                    rpc.call("eth_getBalance", {a, evm::quantity(safe)}).get<std::string>()))
          << a;
    }
  };
  sync.run_cycle(ctx);
  check_against_node();
  EXPECT_EQ(scalar("SELECT count(*) FROM chain_transactions WHERE to_address IS NULL"), "1");
  EXPECT_EQ(scalar("SELECT count(*) FROM chain_transactions WHERE status = 'failed'"), "1");

  // A real reorg: snapshot, blocks the worker confirms, revert, a longer different branch.
  const json snap = rpc.call("evm_snapshot");
  for (int i = 0; i < 4; ++i) {
    send({{"from", accounts[0]}, {"to", accounts[1]}, {"value", evm::quantity(100 + i)}});
  }
  sync.run_cycle(ctx);
  check_against_node();
  ASSERT_TRUE(rpc.call("evm_revert", {snap}).get<bool>());
  for (int i = 0; i < 5; ++i) {
    send({{"from", accounts[2]}, {"to", accounts[0]}, {"value", evm::quantity(900 + i)}});
  }
  sync.run_cycle(ctx);
  check_against_node();
  EXPECT_EQ(scalar("SELECT count(*) FROM chain_transactions WHERE value BETWEEN 100 AND 103"), "0");
  EXPECT_TRUE(ctx.failed_.empty());
}

}  // namespace
}  // namespace socialai
