/// xentcheck/common/json_number_reader.h: a JSON number literal to the double std::from_chars
/// gives for it, in one pass (8 digits at a time, a 128-bit power-of-ten table), shared by the
/// protocol's response reader (cli/check) and the case reader (cli/core).
#pragma once

#include <array>
#include <bit>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace xentcheck::common {

/// 128-bit unsigned arithmetic (a GCC/Clang extension, hence __extension__ under -Wpedantic).
__extension__ typedef unsigned __int128 json_u128;

/// Powers of ten for read_json_number: entry k - min_decimal_power is (M, E) with M a 128-bit
/// integer, 2^127 <= M < 2^128, and M * 2^E <= 10^k < (M + 700) * 2^E. Built from M = 2^127, E =
/// -127 (k = 0) by exact multiplications / divisions by 5 (and 2) with each step's result truncated
/// to 128 bits: every step adds at most 2^-127 to the relative error, and |k| <= 330 steps stay
/// below 700 units of M.
struct decimal_power {
    std::uint64_t high;  ///< M's upper 64 bits
    std::uint64_t low;   ///< M's lower 64 bits
    int exponent;        ///< E
};

inline constexpr int min_decimal_power = -330;
inline constexpr int max_decimal_power = 310;

constexpr std::array<decimal_power, max_decimal_power - min_decimal_power + 1>
make_decimal_powers() {
    std::array<decimal_power, max_decimal_power - min_decimal_power + 1> t{};
    const auto put = [&](int k, json_u128 m, int e) {
        t[static_cast<std::size_t>(k - min_decimal_power)] = {static_cast<std::uint64_t>(m >> 64),
                                                              static_cast<std::uint64_t>(m), e};
    };
    json_u128 m = json_u128(1) << 127;
    int e = -127;
    put(0, m, e);
    for (int k = 1; k <= max_decimal_power; ++k) {  // 10^k = 10^(k-1) * 5 * 2
        const json_u128 lo = json_u128(static_cast<std::uint64_t>(m)) * 5;
        const json_u128 hi = json_u128(static_cast<std::uint64_t>(m >> 64)) * 5 + (lo >> 64);
        const int s = (hi >> 66) != 0 ? 3 : 2;  // the product has 131 or 130 bits
        m = (hi << (64 - s)) | (static_cast<std::uint64_t>(lo) >> s);
        e += 1 + s;
        put(k, m, e);
    }
    m = json_u128(1) << 127;
    e = -127;
    for (int k = -1; k >= min_decimal_power; --k) {  // 10^k = 10^(k+1) / 5 / 2
        // floor(m * 2^s / 5) by long division over 64-bit limbs, s = 3 unless that reaches 2^128.
        const auto divide = [](json_u128 v, int s, bool& fits) {
            const std::uint64_t d2 = static_cast<std::uint64_t>(v >> (128 - s));
            const std::uint64_t d1 = static_cast<std::uint64_t>(v >> (64 - s));
            const std::uint64_t d0 = static_cast<std::uint64_t>(v << s);
            const std::uint64_t q2 = d2 / 5;
            json_u128 r = d2 % 5;
            const json_u128 n1 = (r << 64) | d1;
            const auto q1 = static_cast<std::uint64_t>(n1 / 5);
            r = n1 % 5;
            const json_u128 n0 = (r << 64) | d0;
            const auto q0 = static_cast<std::uint64_t>(n0 / 5);
            fits = q2 == 0;
            return (json_u128(q1) << 64) | q0;
        };
        bool fits = false;
        json_u128 q = divide(m, 3, fits);
        int s = 3;
        if (!fits) {
            q = divide(m, 2, fits);
            s = 2;
        }
        m = q;
        e -= 1 + s;
        put(k, m, e);
    }
    return t;
}

inline constexpr auto decimal_powers = make_decimal_powers();

namespace detail {

/// The 8 bytes at p as one word, first byte lowest (the digit tricks below assume little-endian
/// loads; other byte orders never call them).
inline std::uint64_t load_word(const char* p) noexcept {
    std::uint64_t x;
    std::memcpy(&x, p, 8);
    return x;
}

/// The top bit of every byte of x that is not a decimal digit (b - '0' and b + 0x46 both keep
/// the top bit clear only for '0' <= b <= '9'). A carry or borrow out of a non-digit byte can
/// corrupt the flags above it, but none leaves a digit byte, so the lowest flag is exact: that
/// is all the digit counts need.
inline std::uint64_t non_digit_flags(std::uint64_t x) noexcept {
    return ((x + 0x4646464646464646ull) | (x - 0x3030303030303030ull)) & 0x8080808080808080ull;
}

/// The number of bytes below the lowest flagged one (8 when none is): the length of the run of
/// digits a word of non_digit_flags starts with, found without a branch on that length.
inline int leading_bytes(std::uint64_t flags) noexcept {
    return flags != 0 ? std::countr_zero(flags) >> 3 : 8;
}

/// The value of 8 digit values (0..9, first digit in the lowest byte): pairs, then quadruples,
/// then the whole, combined in the lanes of one 64-bit word.
inline std::uint32_t combine_eight_digits(std::uint64_t x) noexcept {
    x = x * 10 + (x >> 8);
    constexpr std::uint64_t mask = 0x000000FF000000FFull;
    constexpr std::uint64_t mul1 = 100 + (1000000ull << 32);
    constexpr std::uint64_t mul2 = 1 + (10000ull << 32);
    return static_cast<std::uint32_t>((((x & mask) * mul1) + (((x >> 16) & mask) * mul2)) >> 32);
}

}  // namespace detail

/// Whether the 8 bytes at p are all decimal digits.
inline bool eight_digits(const char* p) noexcept {
    if constexpr (std::endian::native != std::endian::little) return false;  // digit by digit
    return detail::non_digit_flags(detail::load_word(p)) == 0;
}

/// The value of the 8 digits at p (first digit most significant; little-endian loads).
inline std::uint32_t eight_digits_value(const char* p) noexcept {
    return detail::combine_eight_digits(detail::load_word(p) - 0x3030303030303030ull);
}

/// read_json_number's fallback: std::from_chars of the literal [first, last).
inline const char* read_json_number_slow(const char* first, const char* last, double& out) {
    const auto r = std::from_chars(first, last, out);
    return r.ec == std::errc() && r.ptr == last ? last : nullptr;
}

namespace detail {

/// The conversion both readers end with, kept in one place so the fast path cannot drift from
/// the general one: the literal [first, last) has `significant` significant digits, whose
/// value is w (meaningful when significant <= 19), times 10^k; `out` becomes the double
/// std::from_chars gives for it and `last` is returned, or null when it is out of range.
///
/// w * 10^k is w (normalized to 64 bits) times the 128-bit M of 10^k, whose upper 128 bits A
/// are within 701 units below the exact product (decimal_power's bound plus the truncation);
/// rounding A to 53 bits gives the correctly rounded double unless a rounding boundary (a
/// halfway point) lies within 2^16 units of A, which sends the literal to std::from_chars, as
/// does everything else (more digits, subnormal or huge results).
[[gnu::always_inline]] inline const char* finish_json_number(const char* first, const char* last,
                                                             std::uint64_t w, int k,
                                                             std::ptrdiff_t significant,
                                                             bool negative, double& out) {
    if (significant > 19) return read_json_number_slow(first, last, out);
    if (w == 0) {
        out = negative ? -0.0 : 0.0;
        return last;
    }
    if (k < min_decimal_power || k > max_decimal_power)
        return read_json_number_slow(first, last, out);
    const decimal_power& t = decimal_powers[static_cast<std::size_t>(k - min_decimal_power)];
    const int lz = std::countl_zero(w);
    const std::uint64_t wn = w << lz;
    const json_u128 a = json_u128(wn) * t.high + ((json_u128(wn) * t.low) >> 64);  // >= 2^126
    // Keep A's top 53 bits: the upper word without its low s bits (s = 11 when A has 128 bits,
    // 10 when it has 127); the rest, those s bits and the lower word, decides the rounding.
    const auto high = static_cast<std::uint64_t>(a >> 64);
    const auto low = static_cast<std::uint64_t>(a);
    const int s = 10 + static_cast<int>(high >> 63);
    const std::uint64_t rest = high & ((std::uint64_t(1) << s) - 1);
    const std::uint64_t half = std::uint64_t(1) << (s - 1);  // with a zero lower word
    constexpr std::uint64_t margin = std::uint64_t(1) << 16;
    if ((rest == half && low <= margin) || (rest + 1 == half && low >= -margin)) {
        return read_json_number_slow(first, last, out);  // within the margin of a halfway point
    }
    std::uint64_t mantissa = (high >> s) + (rest >= half ? 1 : 0);  // rest == half: low > 0
    // value = mantissa * 2^(64 + s + 64 + E - lz); the double's biased exponent is that power
    // plus 52 + 1023 (one more when rounding carried to 2^53).
    int biased = s + t.exponent - lz + 64 + 64 + 52 + 1023;
    if (biased < 1) return read_json_number_slow(first, last, out);
    if (mantissa >> 53) {
        mantissa >>= 1;
        ++biased;
    }
    if (biased > 2046) return read_json_number_slow(first, last, out);
    const std::uint64_t bits = static_cast<std::uint64_t>(negative) << 63 |
                               static_cast<std::uint64_t>(biased) << 52 |
                               (mantissa & ((std::uint64_t(1) << 52) - 1));
    out = std::bit_cast<double>(bits);
    return last;
}

}  // namespace detail

namespace detail {

/// The exponent part of a literal at p, "[eE][+-]?digits", when there is one: its value added
/// to k (beyond 100000 it stops growing; finish_json_number sends such a k to std::from_chars).
/// Returns the end of the exponent (p itself when there is none), or null for a marker without
/// digits ("1e", "1e+").
[[gnu::always_inline]] inline const char* read_exponent(const char* p, const char* end, int& k) {
    if (p == end || (*p | 0x20) != 'e') return p;
    ++p;
    const bool minus = p != end && *p == '-';
    if (p != end && (*p == '+' || *p == '-')) ++p;
    if (p == end || static_cast<unsigned char>(*p - '0') > 9) return nullptr;
    int x = 0;
    do {
        if (x < 100000) x = x * 10 + (*p - '0');
        ++p;
    } while (p != end && static_cast<unsigned char>(*p - '0') <= 9);
    k += minus ? -x : x;
    return p;
}

}  // namespace detail

/// read_json_number for every literal (read_json_number itself takes a branch-free path for
/// the commonest form and sends everything else here): a loop over the integer digits, 8
/// fraction digits at a time while they last, then digit by digit. Its branches on the digit
/// counts are cheap when they repeat and mispredicted when every number differs.
[[gnu::always_inline]] inline const char* read_json_number_general(const char* p, const char* end,
                                                                   double& out) {
    const char* const first = p;
    const auto digit = [&](const char* c) {
        return c != end && static_cast<unsigned char>(*c - '0') <= 9;
    };
    const bool negative = p != end && *p == '-';
    p += negative;
    if (!digit(p)) return nullptr;
    std::uint64_t w = 0;  // wraps beyond 19 significant digits (then from_chars reads them)
    std::ptrdiff_t significant = 0;
    if (*p == '0') {
        ++p;
    } else {
        const char* const integer = p;
        do {
            w = w * 10 + static_cast<unsigned>(*p++ - '0');
        } while (digit(p));
        significant = p - integer;
    }
    int k = 0;
    if (p != end && *p == '.') {
        ++p;
        if (!digit(p)) return nullptr;
        const char* const fraction = p;
        if (w == 0) {
            while (p != end && *p == '0')
                ++p;
        }
        const char* const digits = p;
        while (end - p >= 8 && eight_digits(p)) {
            w = w * 100000000 + eight_digits_value(p);
            p += 8;
        }
        while (digit(p))
            w = w * 10 + static_cast<unsigned>(*p++ - '0');
        significant += p - digits;
        k = -static_cast<int>(p - fraction);
    }
    p = detail::read_exponent(p, end, k);
    if (!p) return nullptr;
    return detail::finish_json_number(first, p, w, k, significant, negative, out);
}

namespace detail {

/// read_json_number_general as a call, for read_json_number's fast path. Inlined there, its
/// loops made the response reader's row loop 2.5 times as long in machine code (1494 against
/// 596 lines of disassembly); as a call, a response's numbers took 3 to 4% less time
/// (bench/reader_ab.sh). Why is not measured here (no hardware counters): the fast path spills
/// the same words to the stack either way, so likely the smaller loop body.
[[gnu::noinline]] inline const char* read_json_number_general_call(const char* p, const char* end,
                                                                   double& out) {
    return read_json_number_general(p, end, out);
}

/// 10^n for the fast path's digit counts n < 24, modulo 2^64 from 10^20 on: a wrapped entry
/// only ever scales a nonzero integer digit by 10^20 or more, i.e. a literal of more than 19
/// significant digits, which finish_json_number hands to std::from_chars without using w.
inline constexpr std::array<std::uint64_t, 24> wrapping_powers_of_ten = [] {
    std::array<std::uint64_t, 24> t{};
    std::uint64_t v = 1;
    for (std::uint64_t& e : t) {
        e = v;
        v *= 10;
    }
    return t;
}();

/// The value of the first n (0..8) bytes of x as digits (they must be digits; the bytes after
/// them may be anything): they are moved to the top of the word, so the bytes shifted in are
/// zeros in front of them, and the 8-digit combine reads the rest. n = 0 is selected rather
/// than shifted (a 64-bit shift is undefined).
inline std::uint64_t leading_digits_value(std::uint64_t x, int n) noexcept {
    // No borrow leaves the n digit bytes, so the subtraction leaves them exact.
    const std::uint64_t y = x - 0x3030303030303030ull;
    return combine_eight_digits(n == 0 ? 0 : y << (8 * (8 - n)));
}

/// The number of '0' bytes x starts with (8 when all are): each byte's flag, its difference
/// from '0' being nonzero, is computed without carries between bytes.
inline int leading_zero_chars(std::uint64_t x) noexcept {
    const std::uint64_t z = x ^ 0x3030303030303030ull;
    return leading_bytes((((z & 0x7F7F7F7F7F7F7F7Full) + 0x7F7F7F7F7F7F7F7Full) | z) &
                         0x8080808080808080ull);
}

}  // namespace detail

/// Reads the JSON number literal at [p, end) (optional '-', integer part without leading
/// zeros, optional fraction, optional exponent; the literal ends where the grammar does: "01"
/// reads "0"). Returns the literal's end with `out` the double std::from_chars gives for it,
/// or null when there is no JSON number literal at p or its value is out of double's range
/// (from_chars's result_out_of_range).
///
/// A check run's responses are probabilities, gradients and losses printed shortest
/// round-trip: "-?d.ddd...(e-dd)?" with a digit count that differs from number to number, so
/// the general reader's digit loops mispredict. With at least 48 bytes left (every load below
/// stays inside [p, end)), that form with 1..23 fraction digits (not 8 leading zeros after a
/// "0.") is read from three 8-byte words: each word's digit count comes from its lowest
/// non-digit flag, its value from its first n digits, all without branching on a count; the
/// rest goes to read_json_number_general. Both end in finish_json_number, so the results are
/// the same bit for bit.
[[gnu::always_inline]] inline const char* read_json_number(const char* p, const char* end,
                                                           double& out) {
    if constexpr (std::endian::native != std::endian::little) {
        return read_json_number_general(p, end, out);
    }
    if (end - p < 48) return detail::read_json_number_general_call(p, end, out);
    const char* const first = p;
    const bool negative = *p == '-';
    p += negative;
    const unsigned d0 = static_cast<unsigned char>(*p - '0');  // the single integer digit
    if ((d0 > 9) | (p[1] != '.')) return detail::read_json_number_general_call(first, end, out);
    p += 2;
    const std::uint64_t x0 = detail::load_word(p);
    const std::uint64_t x1 = detail::load_word(p + 8);
    const std::uint64_t x2 = detail::load_word(p + 16);
    // A later word's digits count only when every earlier word was all digits (selects, which
    // the compiler makes conditional moves, not branches).
    const int n0 = detail::leading_bytes(detail::non_digit_flags(x0));
    const int n1 = n0 == 8 ? detail::leading_bytes(detail::non_digit_flags(x1)) : 0;
    const int n2 = n1 == 8 ? detail::leading_bytes(detail::non_digit_flags(x2)) : 0;
    const int zeros = detail::leading_zero_chars(x0);
    // No fraction digit ("1." is not JSON), 24 or more, or "0." and 8 zeros (whose significant
    // digits may start beyond the third word): the general reader decides.
    if ((n0 == 0) | (n2 == 8) | ((d0 == 0) & (zeros == 8))) {
        return detail::read_json_number_general_call(first, end, out);
    }
    const int n = n0 + n1 + n2;
    const std::uint64_t fraction =
        (detail::leading_digits_value(x0, n0) * detail::wrapping_powers_of_ten[n1] +
         detail::leading_digits_value(x1, n1)) *
            detail::wrapping_powers_of_ten[n2] +
        detail::leading_digits_value(x2, n2);
    const std::uint64_t w = d0 * detail::wrapping_powers_of_ten[n] + fraction;
    // As the general reader counts them: after "0." its leading zeros are not significant.
    const int significant = d0 != 0 ? n + 1 : n - zeros;
    p += n;
    int k = -n;
    // The exponent keeps its branches: checking for it is well predicted within a run of
    // numbers, and a branch-free version lengthened the chain to the next number's start.
    p = detail::read_exponent(p, end, k);
    if (!p) return nullptr;
    return detail::finish_json_number(first, p, w, k, significant, negative, out);
}

}  // namespace xentcheck::common
