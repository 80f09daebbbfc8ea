/// xentcheck/kernels.h: which kernels (vector or scalar) the reference and its checks run on.
#pragma once

#include <string_view>

namespace xentcheck {

/// The row kernels of softmax, logsumexp, log_softmax and cross_entropy for float and double,
/// and the shifted exponentials of long double rows whose entries are all doubles (complex, and
/// other long double rows, always use the scalar code).
/// - scalar: portable C++, std::exp on each shifted logit.
/// - avx2: x86-64 AVX2 + FMA vector code: a table-driven exp (the algorithm of glibc's scalar
///   exp, <= 0.52 ulp measured, not the <= 4 ulp vector libm) on the TwoSum-corrected shift, a
///   vector max scan and compensated sums in vector lanes. Same semantics (NaN, +-inf), same
///   accuracy bounds; results may differ from the scalar path in the last bits. Long double
///   rows of doubles: double-double lanes (about 2^-74 relative; rounded to long double, 0.5001
///   ulp at worst measured, against 0.516 for the scalar x87 exp). compare_values: its blocks'
///   error statistics four at a time, the same bits as the scalar loop.
enum class kernel_path { scalar, avx2 };

/// "scalar" or "avx2".
std::string_view to_string(kernel_path p) noexcept;

/// The path the computations above use now: avx2 when this is an x86-64 build running on
/// a CPU with AVX2 and FMA and it has not been disabled, else scalar.
kernel_path active_kernel_path() noexcept;

/// Disables the vector kernels (true) or restores the automatic choice (false), process-wide:
/// for tests and benchmarks that compare the two paths. Set it before computations start, not
/// while another thread is computing.
void force_scalar_kernels(bool scalar) noexcept;

}  // namespace xentcheck
