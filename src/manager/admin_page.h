// The admin console (GET /workers): one self-contained HTML page (no external assets) that
// renders the workers from the JSON API in the browser and refreshes itself.
#pragma once

#include <string_view>

namespace socialai::manager {

// The page. Static text: every value shown comes from /api/workers/status and
// /api/workers/{name}/logs and is inserted as text (never as HTML) by the page's script.
std::string_view admin_page_html();

}  // namespace socialai::manager
