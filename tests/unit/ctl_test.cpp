// socialai-ctl's pure parts: the status table and its verdict, durations, sizes, timestamps,
// and the token file's forms and permission check.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "ctl/status_table.h"
#include "ctl/token.h"

namespace socialai::ctl {
namespace {

using nlohmann::json;

const std::time_t kNow = 1738324800;  // 2025-01-31T12:00:00Z

json row(const std::string& name, bool healthy, bool enabled = true) {
  return {{"name", name},           {"state", healthy ? "running" : "fatal"},
          {"healthy", healthy},     {"enabled", enabled},
          {"pid", healthy ? json(4242) : json(nullptr)},
          {"uptimeSeconds", 3725.0}, {"totalRestarts", 2},
          {"lastSuccess", "2025-01-31T11:55:00Z"}, {"errorRate", 0.125},
          {"itemsPerMinute", 12.34}, {"cpuSeconds", 1.25}, {"rssBytes", 47185920},
          {"lastExit", healthy ? json(nullptr) : json("exited with status 3")}};
}

TEST(CtlStatusTable, AlignsColumnsAndFormatsEveryField) {
  const json rows = json::array({row("farcaster", true), row("ai", false)});
  const std::string out = render_status_table(rows, kNow);
  std::istringstream in(out);
  std::string header, first, second, note;
  std::getline(in, header);
  std::getline(in, first);
  std::getline(in, second);
  std::getline(in, note);
  EXPECT_EQ(header.rfind("NAME       STATE    HEALTHY  PID   UPTIME  RESTARTS  LAST SUCCESS", 0),
            0u)
      << out;
  EXPECT_EQ(first.rfind("farcaster  running  yes      4242  1h2m    2         5m ago", 0), 0u)
      << out;
  EXPECT_NE(first.find("12.5%"), std::string::npos);
  EXPECT_NE(first.find("12.3"), std::string::npos);
  EXPECT_NE(first.find("1.2s"), std::string::npos);
  EXPECT_EQ(first.substr(first.size() - 5), "45.0M");
  // No process: no pid, no uptime; the reason below the table.
  EXPECT_EQ(second.rfind("ai         fatal    no       -     -       2", 0), 0u) << out;
  EXPECT_EQ(note, "ai: exited with status 3");
  for (const auto& line : {first, second}) {
    EXPECT_EQ(line.find("RSS"), std::string::npos);
    EXPECT_EQ(header.find("RSS"), line.size() - 5) << out;  // the last column is aligned too
  }
}

TEST(CtlStatusTable, MissingFieldsAndDatabaseDown) {
  const json rows = json::array({{{"name", "custom"}, {"state", "running"}, {"enabled", true},
                                  {"healthy", true}, {"pid", 7}, {"database", "down"},
                                  {"databaseError", "connection refused"}}});
  const std::string out = render_status_table(rows, kNow);
  EXPECT_NE(out.find("custom  running  yes      7    -       -         -"), std::string::npos)
      << out;
  EXPECT_NE(out.find("database: down (connection refused)"), std::string::npos) << out;
}

TEST(CtlStatusTable, VerdictIgnoresDisabledWorkers) {
  EXPECT_TRUE(all_enabled_healthy(json::array({row("a", true), row("b", false, false)})));
  EXPECT_FALSE(all_enabled_healthy(json::array({row("a", true), row("b", false)})));
  EXPECT_TRUE(all_enabled_healthy(json::array()));
  EXPECT_FALSE(all_enabled_healthy(json::object()));
  // A disabled worker's health is not judged in the table either.
  const std::string out = render_status_table(json::array({row("b", false, false)}), kNow);
  EXPECT_NE(out.find("b     fatal  -  "), std::string::npos) << out;
  EXPECT_EQ(out.find("b: "), std::string::npos) << out;
}

TEST(CtlStatusTable, Units) {
  EXPECT_EQ(human_duration(0), "0s");
  EXPECT_EQ(human_duration(59.9), "59s");
  EXPECT_EQ(human_duration(60), "1m");
  EXPECT_EQ(human_duration(3600), "1h");
  EXPECT_EQ(human_duration(3 * 3600 + 12 * 60 + 5), "3h12m");
  EXPECT_EQ(human_duration(2 * 86400 + 4 * 3600), "2d4h");
  EXPECT_EQ(human_bytes(512), "512B");
  EXPECT_EQ(human_bytes(1536), "1.5K");
  EXPECT_EQ(human_bytes(3.0 * 1024 * 1024 * 1024), "3.0G");
  EXPECT_EQ(parse_utc("2025-01-31T12:00:00Z"), kNow);
  EXPECT_EQ(parse_utc("2025-01-31T12:00:00.123456Z"), kNow);
  EXPECT_EQ(parse_utc("2025-01-31T12:00:00+00:00"), kNow);
  EXPECT_EQ(parse_utc("2025-01-31T12:00:00+02:00"), -1);
  EXPECT_EQ(parse_utc("yesterday"), -1);
}

TEST(CtlToken, PlainAndEnvironmentFileForms) {
  EXPECT_EQ(token_from_text("  s3cret \n"), "s3cret");
  EXPECT_EQ(token_from_text("# the token\n\ns3cret\nignored\n"), "s3cret");
  EXPECT_EQ(token_from_text("DATABASE_URL=postgresql:///x\nSOCIALAI_ADMIN_TOKEN=\"a b\"\n"), "a b");
  EXPECT_EQ(token_from_text("export SOCIALAI_ADMIN_TOKEN='t=1'\n"), "t=1");
  // An environment file without the variable holds no token (not its first line).
  EXPECT_EQ(token_from_text("DATABASE_URL=postgresql:///x\n"), "");
  EXPECT_EQ(token_from_text("# SOCIALAI_ADMIN_TOKEN=commented\n"), "");
  EXPECT_EQ(token_from_text(""), "");
}

TEST(CtlToken, FileMustBePrivate) {
  char tmpl[] = "/tmp/socialai-ctl-token.XXXXXX";
  const int fd = ::mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ::close(fd);
  const std::string path = tmpl;
  std::ofstream(path) << "tok\n";
  ::chmod(path.c_str(), 0600);
  EXPECT_EQ(read_token_file(path), "tok");
  for (const mode_t mode : {0640, 0604, 0620, 0602}) {
    ::chmod(path.c_str(), mode);
    try {
      read_token_file(path);
      ADD_FAILURE() << "mode " << std::oct << mode << " accepted";
    } catch (const TokenFileError& e) {
      EXPECT_NE(std::string(e.what()).find("chmod 600 " + path), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find("tok\n"), std::string::npos);
    }
  }
  ::chmod(path.c_str(), 0600);
  std::ofstream(path) << "\n# nothing\n";
  EXPECT_THROW(read_token_file(path), TokenFileError);
  ::unlink(path.c_str());
  EXPECT_THROW(read_token_file(path), TokenFileError);
  EXPECT_THROW(read_token_file("/tmp"), TokenFileError);
}

}  // namespace
}  // namespace socialai::ctl
