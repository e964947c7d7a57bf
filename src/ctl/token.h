// Where socialai-ctl's admin token comes from: --token-file FILE, else the environment
// (SOCIALAI_ADMIN_TOKEN). The token is sent only on control requests and never printed.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace socialai::ctl {

// A token file that must not be used; what() says why and how to fix it.
struct TokenFileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The token in `path`: the value of its SOCIALAI_ADMIN_TOKEN= line when the file is in
// environment-file form (so /etc/socialai/env itself can be given), else its first non-empty
// line, trimmed. Throws TokenFileError when the file cannot be opened, is not a regular file,
// grants any permission to group or others (like ssh's key files: a token others can read is
// no secret, one they can write is not yours), or holds no token.
std::string read_token_file(const std::string& path);

// The token in the text of a token file (see read_token_file); "" when there is none. Pure.
std::string token_from_text(std::string_view text);

}  // namespace socialai::ctl
