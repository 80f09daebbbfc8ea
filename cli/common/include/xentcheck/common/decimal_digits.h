/// xentcheck/common/decimal_digits.h: the decimal digits of a number's significand and their
/// plain and scientific layouts, shared by the report writer (cli/core) and the protocol writer
/// (cli/check), which choose between the layouts by their own rules (fmt's "{}" and
/// std::to_chars's).
#pragma once

#include <array>
#include <bit>
#include <cstddef>
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

namespace detail {
/// Copies a fixed `N` bytes (register moves; the caller keeps only the ones it needs).
template <std::size_t N>
void copy_block(char* to, const char* from) noexcept {
    std::memcpy(to, from, N);
}
}  // namespace detail

/// A significand < 10^17 as text: its size() digits at first(), followed by readable zero
/// bytes, so that the layouts below move fixed-size blocks from it instead of copies sized by
/// the digit count, which varies from number to number.
class significand_digits {
  public:
    /// The digits of `s` < 10^17.
    explicit significand_digits(std::uint64_t s) noexcept : size_(write_significand(buffer_, s)) {}
    /// The first significant digit.
    const char* first() const noexcept { return buffer_ + 17 - size_; }
    /// How many digits are significant (1 to 17).
    int size() const noexcept { return size_; }

  private:
    char buffer_[48] = {};  // 17 digits, then slack for the blocks
    int size_;
};

/// The most bytes write_plain and write_scientific write from `out` on; they keep only the
/// text, whose end they return.
inline constexpr std::size_t decimal_layout_room = 34;

/// digits 10^exponent in plain notation: "123400" (0 <= exponent <= 16 - size), "12.34" (the
/// point among the digits), "0.001234" (at most 3 zeros after the point).
inline char* write_plain(char* out, const significand_digits& digits, int exponent) noexcept {
    const char* const first = digits.first();
    const int n = digits.size();
    if (exponent >= 0) {
        detail::copy_block<24>(out, first);
        std::memset(out + n, '0', 16);
        return out + n + exponent;
    }
    const int integer_digits = n + exponent;
    if (integer_digits > 0) {
        detail::copy_block<24>(out, first);
        out[integer_digits] = '.';
        detail::copy_block<16>(out + integer_digits + 1, first + integer_digits);  // <= 16
        return out + n + 1;
    }
    const int zeros = -integer_digits;
    std::memcpy(out, "0.000000", 8);
    detail::copy_block<24>(out + 2 + zeros, first);
    return out + 2 + zeros + n;
}

/// The digits as d[.ddd]e+XX or d[.ddd]e-XX with the scientific exponent `x` (|x| < 1000,
/// at least two of its digits).
inline char* write_scientific(char* out, const significand_digits& digits, int x) noexcept {
    const int n = digits.size();
    out[0] = digits.first()[0];
    out[1] = '.';
    detail::copy_block<16>(out + 2, digits.first() + 1);  // n - 1 <= 16 digits
    out += n > 1 ? n + 1 : 1;
    out[0] = 'e';
    out[1] = x < 0 ? '-' : '+';
    const int abs_x = x < 0 ? -x : x;
    if (abs_x >= 100) {
        out[2] = static_cast<char>('0' + abs_x / 100);
        detail::copy_block<2>(out + 3, two_digits.data() + 2 * (abs_x % 100));
        return out + 5;
    }
    detail::copy_block<2>(out + 2, two_digits.data() + 2 * abs_x);
    return out + 4;
}

}  // namespace xentcheck::common
