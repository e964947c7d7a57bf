#include "manager/memory_trim.h"

#include <malloc.h>
#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace socialai::manager {

std::size_t trim_resident_memory() {
  ::malloc_trim(0);
  // /proc/self/smaps: a header line per mapping ("start-end perms offset dev inode path"), then
  // "Key: value" lines ending with "VmFlags:". Plain stdio: this also runs in the orphan
  // sentinel right after its fork.
  std::FILE* f = std::fopen("/proc/self/smaps", "re");
  if (f == nullptr) {
    return 0;
  }
  std::size_t dropped = 0;
  unsigned long start = 0, end = 0;
  bool candidate = false;
  char line[512];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    // Into temporaries: "Anonymous:" and "FilePmdMapped:" begin with hex digits too.
    unsigned long s = 0, e = 0, offset = 0, inode = 0;
    unsigned dev_major = 0, dev_minor = 0;
    char perms[8] = {};
    if (std::sscanf(line, "%lx-%lx %7s %lx %x:%x %lu", &s, &e, perms, &offset, &dev_major,
                    &dev_minor, &inode) == 7) {
      start = s;
      end = e;
      // A private, non-writable mapping of a file.
      candidate = inode != 0 && perms[1] != 'w' && perms[3] == 'p';
      continue;
    }
    if (std::strncmp(line, "Anonymous:", 10) == 0) {
      candidate = candidate && std::strtoul(line + 10, nullptr, 10) == 0;
    } else if (std::strncmp(line, "VmFlags:", 8) == 0) {
      if (candidate && std::strstr(line, " lo") == nullptr && end > start &&
          ::madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTNEED) == 0) {
        dropped += end - start;
      }
      candidate = false;
    }
  }
  std::fclose(f);
  return dropped;
}

}  // namespace socialai::manager
