// GET /api/workers/{name}/logs: the newest lines (?lines=N), or the lines after a cursor
// (?after=SEQ), waiting up to ?wait=S seconds for the first one: the long poll behind
// `socialai-ctl logs -f`. Runs on the io_context's thread.
#pragma once

#include <map>
#include <string>

#include "manager/http_api.h"

namespace socialai::manager {

class LogRouter;

// The longest a follower may wait for a line in one request.
inline constexpr int kMaxLogWaitSeconds = 30;

// Answers {"worker", "lines", "next", "skipped", "instance"}: `next` is the cursor to pass as
// `after` to get the lines that follow, without loss or repetition; `skipped` counts lines
// after the cursor that left the 1,000-line ring before they were asked for; `instance` names
// this manager process (a restarted manager numbers its lines afresh). 400 for a bad number.
// REQUIRES: `log` outlives every reply's wait (the router outlives the HTTP server).
ApiReply logs_reply(LogRouter& log, const std::string& worker,
                    const std::map<std::string, std::string>& query);

}  // namespace socialai::manager
