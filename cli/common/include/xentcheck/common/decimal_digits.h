/// xentcheck/common/decimal_digits.h: the decimal digits of a number's significand, shared by
/// the report writer (cli/core) and the protocol writer (cli/check), which lay them out in
/// their own forms (fmt's "{}" and std::to_chars's).
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>

namespace xentcheck::common {

/// "00" "01" ... "99": two digits per lookup.
inline constexpr std::array<char, 200> two_digits = [] {
    std::array<char, 200> t{};
    for (int k = 0; k < 100; ++k) {
        t[2 * k] = static_cast<char>('0' + k / 10);
        t[2 * k + 1] = static_cast<char>('0' + k % 10);
    }
    return t;
}();

/// The 8 ASCII digits of `v` < 10^8 (leading zeros included) in one 64-bit word, the first
/// digit in the lowest byte: the two 4-digit halves, then the 2-digit quarters, then the
/// digits, split in parallel in the lanes of the word (each step's multiply-shift is the exact
/// quotient for its lane's range: x * 10486 >> 20 == x / 100 for x < 10^4, x * 103 >> 10 ==
/// x / 10 for x < 100).
inline std::uint64_t eight_digit_chars(std::uint32_t v) noexcept {
    const std::uint64_t hi = v / 10000, lo = v % 10000;
    std::uint64_t x = hi | lo << 32;
    std::uint64_t q = ((x * 10486) >> 20) & 0x0000007F0000007Full;
    x = q | (x - q * 100) << 16;
    q = ((x * 103) >> 10) & 0x000F000F000F000Full;
    x = q | (x - q * 10) << 8;
    return x | 0x3030303030303030ull;
}

/// Writes `v` < 10^8 as exactly 8 digits (leading zeros included) with one 8-byte store.
inline void write_8_digits(char* out, std::uint32_t v) noexcept {
    const std::uint64_t x = eight_digit_chars(v);
    if constexpr (std::endian::native == std::endian::little) {
        std::memcpy(out, &x, 8);
    } else {
        for (int i = 0; i < 8; ++i)
            out[i] = static_cast<char>(x >> (8 * i));
    }
}

/// The number of decimal digits of `s` (1 for 0).
inline int count_digits(std::uint64_t s) noexcept {
    static constexpr std::uint64_t powers[20] = {1ull,
                                                 10ull,
                                                 100ull,
                                                 1000ull,
                                                 10000ull,
                                                 100000ull,
                                                 1000000ull,
                                                 10000000ull,
                                                 100000000ull,
                                                 1000000000ull,
                                                 10000000000ull,
                                                 100000000000ull,
                                                 1000000000000ull,
                                                 10000000000000ull,
                                                 100000000000000ull,
                                                 1000000000000000ull,
                                                 10000000000000000ull,
                                                 100000000000000000ull,
                                                 1000000000000000000ull,
                                                 10000000000000000000ull};
    // floor(log10(s)) from the bit length (1233 / 4096 ~ log10(2)), then one correction.
    const int t = ((64 - std::countl_zero(s | 1)) * 1233) >> 12;
    return t - (s < powers[t]) + 1;
}

/// Writes a significand `s` < 10^17 (a double's shortest digits have at most 17) as exactly 17
/// digits with leading zeros to `out[0, 17)`; returns how many are significant: they are the
/// last ones, from out + 17 - count.
inline int write_significand(char* out, std::uint64_t s) noexcept {
    const std::uint64_t high = s / 100000000;
    out[0] = static_cast<char>('0' + high / 100000000);
    write_8_digits(out + 1, static_cast<std::uint32_t>(high % 100000000));
    write_8_digits(out + 9, static_cast<std::uint32_t>(s % 100000000));
    return count_digits(s);
}

}  // namespace xentcheck::common
