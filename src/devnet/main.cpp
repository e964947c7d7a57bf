// socialai-devnet: local simulators of the external services (SPEC §9). See docs/devnet.md.
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>

#include <pthread.h>

#include "devnet/devnet.h"
#include "socialai/version.h"

namespace {

constexpr const char* kUsage = R"(usage: socialai-devnet [options]

Simulates the Farcaster Hub, Reddit, EVM JSON-RPC, Solana JSON-RPC and OpenAI-compatible APIs
on one loopback HTTP port, with deterministic data and fault injection (docs/devnet.md).

  --listen HOST:PORT   loopback address to serve (default 127.0.0.1:4310; port 0 = any free)
  --seed N             seed of all generated data and of fault injection (default 1)
  --fault-rate R       share of service requests answered with a fault, 0..1 (default 0)
  --faults LIST        fault kinds to draw from: 429,5xx,truncate,malformed (default all)
  --retry-after S      Retry-After seconds of injected 429s (default 1)
  --latency-ms N       delay added to every service answer (default 0)
  --SERVICE-KEY VALUE  service flags, e.g. --farcaster-users 50 (docs/devnet.md lists them)
  --version, --help

Prints "socialai-devnet listening on HOST:PORT" once it accepts connections. Control routes:
GET /_devnet/health, GET /_devnet/stats, GET|POST /_devnet/faults, /_devnet/SERVICE/...
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace socialai::devnet;
  std::string listen = "127.0.0.1:4310";
  std::uint64_t seed = 1;
  FaultConfig faults;
  Options options;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg == "--help" || arg == "-h") {
        std::cout << kUsage;
        return 0;
      }
      if (arg == "--version") {
        std::cout << "socialai-devnet " << SOCIALAI_VERSION << "\n";
        return 0;
      }
      if (arg.rfind("--", 0) != 0 || i + 1 >= argc) {
        std::cerr << "socialai-devnet: expected --flag VALUE, got '" << arg << "'\n" << kUsage;
        return 2;
      }
      const std::string key = arg.substr(2);
      const std::string value = argv[++i];
      if (key == "listen") {
        listen = value;
      } else if (key == "seed") {
        seed = std::stoull(value);
      } else if (key == "fault-rate") {
        faults.rate = std::stod(value);
        if (faults.rate < 0 || faults.rate > 1) {
          throw std::invalid_argument("--fault-rate must be within [0, 1]");
        }
      } else if (key == "faults") {
        faults.kinds = parse_fault_kinds(value);
      } else if (key == "retry-after") {
        faults.retry_after_s = std::stoi(value);
      } else if (key == "latency-ms") {
        faults.latency_ms = std::stoi(value);
      } else {
        options.set(key, value);
      }
    }
    const std::size_t colon = listen.rfind(':');
    if (colon == std::string::npos) {
      throw std::invalid_argument("--listen must be HOST:PORT, got " + listen);
    }
    const std::string host = listen.substr(0, colon);
    const int port = std::stoi(listen.substr(colon + 1));
    if (host != "127.0.0.1" && host != "::1" && host != "localhost") {
      throw std::invalid_argument("--listen must be a loopback address (the devnet is for tests)");
    }

    // Signals are taken by one thread with sigwait, so the server stops cleanly on Ctrl-C.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);

    Server server(host == "localhost" ? "127.0.0.1" : host, port, seed, faults);
    for (auto factory : {make_farcaster_service, make_reddit_service, make_evm_service,
                         make_solana_service, make_openai_service}) {
      if (auto svc = factory(options, seed)) {
        server.add(std::move(svc));
      }
    }
    const auto unused = options.unused();
    if (!unused.empty()) {
      std::cerr << "socialai-devnet: unknown flag --" << unused.front() << "\n";
      return 2;
    }
    std::thread signals([&] {
      int sig = 0;
      sigwait(&set, &sig);
      server.stop();
    });
    std::printf("socialai-devnet listening on %s:%d (seed %llu)\n", host.c_str(), server.port(),
                static_cast<unsigned long long>(seed));
    std::fflush(stdout);
    server.run();
    if (signals.joinable()) {
      pthread_kill(signals.native_handle(), SIGTERM);
      signals.join();
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "socialai-devnet: " << e.what() << "\n";
    return 2;
  }
}
