/// Internal: long double rounded to double without the x87 unit's slow path for tiny results.
#pragma once

#include <bit>
#include <cstdint>
#include <limits>

namespace xentcheck::detail {

/// rounded_to_double for a magnitude in (2^-1075, 2^-1022), and the sign: a subnormal double
/// (or the least normal one), n 2^-1074 with n = |v| 2^1074 rounded to nearest, ties to even.
/// The product is exact (a power of two) and below 2^52; adding and subtracting 2^63 rounds it
/// to an integer in the x87 unit's 64-bit significand (whose ulp there is 1; the default
/// precision and rounding); that integer converts to double exactly, and as bits it is n (n =
/// 2^52 spells the least normal double). All of it in registers: reading the value's bits from
/// memory would wait for its 10-byte store (the previous integer version, 30 ns a value here).
inline double rounded_to_double_subnormal(long double magnitude, bool negative) noexcept {
    const long double scaled = magnitude * 0x1p1074L;
    const long double n = (scaled + 0x1p63L) - 0x1p63L;
    const auto bits = static_cast<std::uint64_t>(static_cast<double>(n));
    return std::bit_cast<double>(bits | static_cast<std::uint64_t>(negative) << 63);
}

/// static_cast<double>(v), the same bits for every v (round to nearest, ties to even). The
/// conversion underflowing costs the x87 unit a microcode assist, 0.15 to 0.25 us per value
/// measured on this machine, and the reference of a row with a spread of logits past 745 rounds
/// many probabilities to 0 or a subnormal: zeros are settled by one more comparison, subnormals
/// by rounded_to_double_subnormal. Values beyond double's range (an assist too) are left to
/// the conversion: only a loss beyond 1.8e308, from logits of opposite signs near the largest
/// double, reaches them. The range tests use quiet comparisons (__builtin_isless...: an ordered
/// comparison with a NaN is an assist too), and keep v in registers: reading its exponent from
/// memory would wait for the 10-byte store each time. Other long double formats: the conversion.
inline double rounded_to_double(long double v) noexcept {
    if constexpr (std::numeric_limits<long double>::digits != 64 ||
                  std::endian::native != std::endian::little) {
        return static_cast<double>(v);
    } else {
        const long double magnitude = __builtin_fabsl(v);
        if (__builtin_isgreaterequal(magnitude, 0x1p-1022)) return static_cast<double>(v);
        // Below half the least subnormal (ties to even: half of it too) the result is a zero of
        // v's sign: the commonest case below the normal range (the large regimes' far tails),
        // settled by this comparison alone.
        if (__builtin_islessequal(magnitude, 0x1p-1075L)) return __builtin_signbit(v) ? -0.0 : 0.0;
        // What is left: the subnormal range, and NaN (whose conversion is fast).
        if (__builtin_isnan(magnitude)) return static_cast<double>(v);
        return rounded_to_double_subnormal(magnitude, __builtin_signbit(v) != 0);
    }
}

}  // namespace xentcheck::detail
