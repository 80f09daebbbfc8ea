/// Internal: long double rounded to double without the x87 unit's slow path for tiny results.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>

namespace xentcheck::detail {

/// The part of rounded_to_double below double's normal range (|v| < 2^-1022, or NaN), from the
/// value's bits: the 64-bit significand shifted to double's subnormal scale, rounded to
/// nearest, ties to even (a carry out of the subnormal significand gives the least normal,
/// which its bits then spell); zero and NaN by the conversion itself, which is fast for them.
/// Not inlined: the caller would then spill every value to memory for these bits.
[[gnu::noinline, gnu::cold]] inline double rounded_to_double_below_normal(long double v) noexcept {
    std::uint64_t significand;
    std::uint16_t sign_exponent;
    std::memcpy(&significand, &v, 8);
    std::memcpy(&sign_exponent, reinterpret_cast<const unsigned char*>(&v) + 8, 2);
    const int exponent = sign_exponent & 0x7FFF;
    const std::uint64_t sign = static_cast<std::uint64_t>(sign_exponent >> 15) << 63;
    if (exponent == 0x7FFF || significand == 0) return static_cast<double>(v);  // NaN, 0
    // v = significand 2^(exponent - 16383 - 63) (subnormal long doubles: exponent 1 with the
    // integer bit clear) = (significand 2^-shift) 2^-1074.
    const int shift = 16383 + 63 - 1074 - (exponent == 0 ? 1 : exponent);
    if (shift > 64) return std::bit_cast<double>(sign);  // below 2^-1075: rounds to 0
    __extension__ typedef unsigned __int128 wide_t;
    const wide_t wide = significand;
    std::uint64_t q = static_cast<std::uint64_t>(wide >> shift);
    const wide_t rest = wide & ((wide_t(1) << shift) - 1);
    const wide_t half = wide_t(1) << (shift - 1);
    q += static_cast<std::uint64_t>((rest > half) | ((rest == half) & ((q & 1) != 0)));
    return std::bit_cast<double>(sign | q);
}

/// static_cast<double>(v), the same bits for every v (round to nearest, ties to even). The
/// conversion underflowing costs the x87 unit a microcode assist, 0.15 to 0.25 us per value
/// measured on this machine, and the reference of a row with a spread of logits past 745 rounds
/// many probabilities to 0 or a subnormal: zeros are settled by one more comparison, subnormals
/// take the integer path (2 to 7 ns). Values beyond double's range (an assist too) are left to
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
        // settled here without the call.
        if (__builtin_islessequal(magnitude, 0x1p-1075L)) return __builtin_signbit(v) ? -0.0 : 0.0;
        return rounded_to_double_below_normal(v);
    }
}

}  // namespace xentcheck::detail
