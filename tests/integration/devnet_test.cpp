// socialai-devnet's server core: control routes, fault configuration and flag checking. The
// simulated services have their own tests under tests/<family>/.
#include <gtest/gtest.h>

#include "devnet_process.h"
#include "manager_harness.h"

using socialai::testing::DevnetProcess;

TEST(Devnet, HealthListsServicesAndUnknownRoutesAre404) {
  DevnetProcess devnet;
  const auto health = devnet.get("/_devnet/health");
  EXPECT_TRUE(health.at("ok").get<bool>());
  EXPECT_TRUE(health.at("services").is_array());
  EXPECT_THROW(devnet.get("/no/such/service"), std::runtime_error);
  EXPECT_THROW(devnet.get("/_devnet/nothing"), std::runtime_error);
}

TEST(Devnet, FaultConfigurationIsValidatedAndReadBack) {
  DevnetProcess devnet;
  devnet.set_faults("farcaster", 0.25, {"429", "malformed"});
  const auto faults = devnet.get("/_devnet/faults");
  EXPECT_DOUBLE_EQ(faults.at("farcaster").at("rate").get<double>(), 0.25);
  EXPECT_EQ(faults.at("farcaster").at("kinds"), nlohmann::json({"429", "malformed"}));
  EXPECT_DOUBLE_EQ(faults.at("*").at("rate").get<double>(), 0.0);
  EXPECT_THROW(devnet.set_faults("*", 1.5), std::runtime_error);
  EXPECT_THROW(devnet.set_faults("*", 0.1, {"teapot"}), std::runtime_error);
  // A global setting replaces every per-service one.
  devnet.set_faults("*", 0.0);
  EXPECT_FALSE(devnet.get("/_devnet/faults").contains("farcaster"));
}

TEST(Devnet, UnknownFlagAndNonLoopbackListenAreRefused) {
  const auto unknown = socialai::testing::run_command(
      {SOCIALAI_DEVNET_BIN, "--listen", "127.0.0.1:0", "--no-such-flag", "1"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("unknown flag --no-such-flag"), std::string::npos) << unknown.err;
  const auto remote =
      socialai::testing::run_command({SOCIALAI_DEVNET_BIN, "--listen", "0.0.0.0:0"});
  EXPECT_EQ(remote.exit_code, 2);
  EXPECT_NE(remote.err.find("loopback"), std::string::npos) << remote.err;
  const auto faults = socialai::testing::run_command(
      {SOCIALAI_DEVNET_BIN, "--listen", "127.0.0.1:0", "--faults", "429,teapot"});
  EXPECT_EQ(faults.exit_code, 2);
  EXPECT_NE(faults.err.find("teapot"), std::string::npos) << faults.err;
}
