// Process control Swift cannot call directly: prctl(2) is variadic, and Swift imports no variadic
// C function, so this header-only module wraps the one call llmq needs.
#pragma once
#include <sys/prctl.h>

/// Makes the calling process the parent of every orphaned descendant (Linux ≥ 3.4), so it can
/// wait for a grandchild and read that grandchild's resource usage. 0 on success, else -1 (errno).
static inline int llmq_become_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}
