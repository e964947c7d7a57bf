// Trimming the idle manager's resident memory after start-up (issue 14: idle PSS).
#pragma once

#include <cstddef>

namespace socialai::manager {

// Drops this process's mappings of read-only file pages that hold no private copy (code,
// read-only data, the dynamic linker's symbol and relocation tables) and returns free heap
// memory to the kernel (malloc_trim). The kernel maps a dropped page again from the page cache
// on its next touch, so what start-up alone needed (loading ~40 libraries, their initializers,
// the configuration parser) leaves the resident set and what the idle loop uses comes back.
// Never drops a page with a private copy: writable mappings and every mapping with anonymous
// (copy-on-write) pages, such as relocated read-only data, are left alone. Safe from any
// thread at any time. Returns the bytes of the mappings dropped.
std::size_t trim_resident_memory();

}  // namespace socialai::manager
