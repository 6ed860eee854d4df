#if arch(x86_64) && !PortableKernels
import CAVX512
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension MatVec {
    /// The integer kernels, best first. x86-64 builds hold the AVX2 and AVX-512 VNNI kernels and
    /// choose at run time; the portable kernels are what other architectures (and builds with the
    /// `PortableKernels` trait) compile instead.
    public enum Kernels: String, Sendable, CaseIterable {
        /// The batched tiles with 512-bit `vpdpbusd` and fp32 FMAs, and the matrix–vector products
        /// of q8_0, q4_0, q5_0, q4_K and q6_K with 512-bit `vpdpbusd` (`CAVX512`); the rest as `avx2`.
        case avx512vnni
        /// AVX2 tiles (`Kernels/x86/`).
        case avx2
        /// Swift SIMD types (`Kernels/Portable/`).
        case portable

        /// The levels this build and CPU can run, best first.
        public static let available: [Kernels] = {
            #if arch(x86_64) && !PortableKernels
            llmq_cpu_has_avx512vnni() != 0 ? [.avx512vnni, .avx2] : [.avx2]
            #else
            [.portable]
            #endif
        }()

        /// `level` if this build and CPU run it, else the best they have.
        static func supported(_ level: Kernels) -> Kernels {
            available.contains(level) ? level : available[0]
        }

        /// The process's level: the best available, or the one LLMQ_KERNELS names (`avx512vnni`,
        /// `avx2`, `portable`) so tests can run each path on one machine; `x86` names the best
        /// x86 level. A level the build or CPU lacks falls back to the best (CI's
        /// "the build runs the kernels CI asked for" test catches that).
        static func selected(_ request: String?) -> Kernels {
            guard let name = request, let level = Kernels(rawValue: name) else { return available[0] }
            return supported(level)
        }
    }

    /// The level every `MatVec` runs unless told otherwise.
    public static let kernels = Kernels.selected(getenv("LLMQ_KERNELS").map { String(cString: $0) })
}
