// Software prefetch for the kernels. Swift cannot reach LLVM's prefetch: clang's _mm_prefetch is
// a macro and _m_prefetch is dropped on import, so this header-only module wraps the builtin.
#pragma once

/// Starts loading the cache line holding `p` into every cache level. Never faults, so an address
/// past the end of a mapping is harmless.
static inline __attribute__((always_inline)) void llmq_prefetch(const void *p) {
    __builtin_prefetch(p, 0, 3);
}
