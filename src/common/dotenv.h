// Loads KEY=VALUE lines from a .env file into the environment without overriding it.
#pragma once

#include <string>

namespace socialai {

// Returns false if the file does not exist. Lines: `KEY=VALUE`, optional `export `, optional
// single or double quotes around VALUE, `#` comments. A variable already set in the real
// environment is left alone.
bool load_dotenv(const std::string& path);

}  // namespace socialai
