/// JSON number and string writing for the protocol codec (std::to_chars's text, no iostreams).
#include "xentcheck/check/json_numbers.h"

#include "json_number_codec.h"
#include "xentcheck/common/decimal_digits.h"

#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

// Dragonbox from fmt's headers alone (check_core does not link the fmt library), with the full
// table of cached powers of ten (10 KB) instead of the compressed one that rebuilds each power
// with extra multiplications (a third fewer instructions per number; the same powers, so the
// same digits).
#define FMT_HEADER_ONLY
#define FMT_USE_FULL_CACHE_DRAGONBOX 1
#include <fmt/format.h>

namespace xentcheck::check {

namespace detail {

namespace {

/// 5^b for b = 0..16: a dyadic fraction odd 2^-b is the decimal odd 5^b 10^-b.
constexpr std::uint64_t powers_of_five[17] = {
    1,       5,       25,       125,       625,        3125,       15625,       78125,       390625,
    1953125, 9765625, 48828125, 244140625, 1220703125, 6103515625, 30517578125, 152587890625};

/// A finite, positive value below 2^40 that is a multiple of 2^-16 but not an integer, as
/// odd 2^-b with odd odd and 1 <= b <= 16; b = 0 for any other value. Its exact decimal is
/// odd 5^b 10^-b, whose significand odd 5^b has no trailing zero.
struct dyadic_fraction {
    std::uint64_t odd = 0;
    int b = 0;
};
dyadic_fraction as_dyadic_fraction(double value) noexcept {
    if (!(value < 0x1p40)) return {};
    const double scaled = value * 0x1p16;  // exact: a power of two
    const auto n = static_cast<std::uint64_t>(scaled);
    if (static_cast<double>(n) != scaled) return {};
    const int twos = std::countr_zero(n);  // n > 0: value is positive
    if (twos >= 16) return {};             // an integer
    return {n >> twos, 16 - twos};
}

/// The shortest round-trip decimal of a finite, positive value, given its as_dyadic_fraction
/// (Dragonbox's to_decimal: the significand without trailing zeros, and its power of ten). A
/// dyadic fraction whose exact decimal has at most 15 significant digits is that decimal:
/// no other decimal of 15 digits or fewer reads back as the same double (DBL_DIG), so neither
/// a shorter one nor another of the same length lies in its rounding interval. Such values are
/// most of what check sends (the generators' logits are mostly multiples of 1/16), and this
/// takes a few integer operations where Dragonbox takes its 128-bit products. Integers and
/// everything else: Dragonbox.
fmt::detail::dragonbox::decimal_fp<double> shortest_decimal(double value,
                                                            dyadic_fraction f) noexcept {
    // floor(10^15 / 5^b) per b: odd below it has odd 5^b < 10^15 (a table: dividing per
    // number took a 64-bit division's latency).
    static constexpr auto odd_limits = [] {
        std::array<std::uint64_t, 17> t{};
        for (std::size_t b = 0; b < t.size(); ++b)
            t[b] = 1000000000000000ull / powers_of_five[b];
        return t;
    }();
    // odd 5^b < 10^15: at most 15 digits (and no overflow).
    if (f.b != 0 && f.odd < odd_limits[static_cast<std::size_t>(f.b)]) {
        return {f.odd * powers_of_five[f.b], -f.b};
    }
    return fmt::detail::dragonbox::to_decimal(value);
}

/// The text of a short dyadic value, built in one 64-bit register and stored once, or null
/// when the value (finite, positive, given as its as_dyadic_fraction `f`) is not one: a dyadic
/// fraction whose exact decimal s 10^-b has at most 7 digits and whose text at most 8 characters
/// ("2.25", "-7.0625" without its sign, "0.0625"): most generated logits. Such a decimal is the
/// shortest (see shortest_decimal), and its plain form is to_chars's: it wins over scientific
/// when digits precede the point, and after "0." while at most 2 zeros precede the digits (3
/// for two digits or more), which within 8 characters they always do (at most one does:
/// s >= 5^b has nearly b digits). The general path stores the digits in a buffer and reloads
/// them at another offset, which waits for the stores (store forwarding fails): 17 to 19
/// against 23 ns a number on a repeated "2.25" in a scratch benchmark, 21 to 23 against 26 to
/// 27 on generated logits.
char* write_short_dyadic(char* out, dyadic_fraction f) noexcept {
    if constexpr (std::endian::native != std::endian::little) return nullptr;
    // b > 6: b digits after the point and at least one before it take more than 8 characters
    // (b = 0: not a dyadic fraction). Below 2^40, b <= 6 keeps odd 5^b below 2^60: no wrap.
    if (f.b == 0 || f.b > 6) return nullptr;
    const int b = f.b;
    const std::uint64_t s = f.odd * powers_of_five[b];
    if (s >= 10000000) return nullptr;
    const int digits = common::count_digits(s);
    const int before_point = digits - b;
    const int zeros = before_point > 0 ? 0 : -before_point;  // after "0."
    const int length = before_point > 0 ? digits + 1 : 2 + zeros + digits;
    if (length > 8) return nullptr;
    // The digits in the word's lowest bytes, first digit lowest (1 <= digits <= 7).
    const std::uint64_t d =
        common::eight_digit_chars(static_cast<std::uint32_t>(s)) >> (8 * (8 - digits));
    // "ddd.ddd": the first before_point digits, the point, the rest; or "0.00ddd". Both are
    // formed and one chosen (no branch on the layout, which varies from number to number).
    const int ip = before_point > 0 ? before_point : 0;
    const std::uint64_t low_mask = (std::uint64_t{1} << (8 * ip)) - 1;  // ip <= 6
    const std::uint64_t with_point =
        (d & low_mask) | std::uint64_t{'.'} << (8 * ip) | (d >> (8 * ip)) << (8 * ip + 8);
    const int prefix = 8 * (2 + zeros);  // "0." and the zeros: at most 56 bits
    const std::uint64_t fraction =
        (0x3030303030302E30ull & ((std::uint64_t{1} << prefix) - 1)) | d << prefix;
    const std::uint64_t text = before_point > 0 ? with_point : fraction;
    std::memcpy(out, &text, 8);
    return out + length;
}

/// The text std::to_chars(first, last, value) writes for a finite, nonzero, positive value,
/// from Dragonbox's shortest round-trip digits (the digits to_chars selects: the fewest that
/// read back exactly, the nearest when several do): plain or scientific notation, whichever is
/// shorter, plain on a tie (`f`: its as_dyadic_fraction). Writes fixed-size blocks: `out`
/// needs json_number_room bytes.
static_assert(json_number_room >= 1 + common::decimal_layout_room, "a sign, then the layout");

char* write_to_chars_form(char* out, double value, dyadic_fraction f) noexcept {
    const auto dec = shortest_decimal(value, f);
    const common::significand_digits digits(dec.significand);
    const int n = digits.size();
    const int e = dec.exponent;  // value = digits * 10^e
    const int x = e + n - 1;     // scientific exponent
    const int abs_x = x < 0 ? -x : x;
    const int scientific = n + (n > 1 ? 1 : 0) + 2 + (abs_x >= 100 ? 3 : 2);
    const int plain = e >= 0 ? n + e : (n + e > 0 ? n + 1 : 2 - (n + e) + n);
    if (plain > scientific) return common::write_scientific(out, digits, x);
    if (e > 0 && value >= 0x1p53) {
        // Plain notation of an integer beyond 2^53: to_chars writes its exact digits
        // (221121057661485023232, not 221121057661485020000).
        return std::to_chars(out, out + max_json_number_chars, value).ptr;
    }
    // Plain only wins for e <= 5 and for at most 3 zeros after "0.".
    return common::write_plain(out, digits, e);
}

}  // namespace

char* write_json_number(char* out, double value) noexcept {
    const auto bits = std::bit_cast<std::uint64_t>(value);
    constexpr std::uint64_t exponent_bits = 0x7FF0000000000000ull;
    if ((bits & exponent_bits) == exponent_bits) {
        const bool nan = (bits & ~(exponent_bits | 1ull << 63)) != 0;
        // 8-byte blocks: 7 characters and the terminating zero.
        const char* token = nan ? "\"nan\"\0\0" : (bits >> 63) ? "\"-inf\"\0" : "\"inf\"\0\0";
        std::memcpy(out, token, 8);
        return out + (nan ? 5 : (bits >> 63) ? 6 : 5);
    }
    *out = '-';
    out += bits >> 63;
    if ((bits << 1) == 0) {
        *out = '0';
        return out + 1;
    }
    const double magnitude = std::bit_cast<double>(bits & ~(1ull << 63));
    // Both paths start from the same test of the value's binary form.
    const dyadic_fraction f = as_dyadic_fraction(magnitude);
    if (char* const end = write_short_dyadic(out, f)) return end;
    return write_to_chars_form(out, magnitude, f);
}

}  // namespace detail

void append_json_integer(std::string& out, std::int64_t value) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, value);
    out.append(buf, r.ptr);
}

void append_json_number(std::string& out, double value) {
    char buf[detail::json_number_room];
    out.append(buf, detail::write_json_number(buf, value));
}

bool is_float32_exact(double value) noexcept {
    if (!std::isfinite(value)) return true;
    return static_cast<double>(static_cast<float>(value)) == value;
}

std::optional<double> parse_nonfinite_token(std::string_view text) noexcept {
    if (text.size() < 3 || text.size() > 9) return std::nullopt;
    std::array<char, 9> lower{};
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        lower[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    const std::string_view t(lower.data(), text.size());
    constexpr double inf = HUGE_VAL;
    if (t == "inf" || t == "+inf" || t == "infinity" || t == "+infinity") return inf;
    if (t == "-inf" || t == "-infinity") return -inf;
    if (t == "nan") return std::nan("");
    return std::nullopt;
}

namespace {

/// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is invalid.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (b0 < 0x80) return 1;
    if ((b0 & 0xE0) == 0xC0) {
        len = 2;
        cp = b0 & 0x1F;
    } else if ((b0 & 0xF0) == 0xE0) {
        len = 3;
        cp = b0 & 0x0F;
    } else if ((b0 & 0xF8) == 0xF0) {
        len = 4;
        cp = b0 & 0x07;
    } else {
        return 0;
    }
    if (i + len > s.size()) return 0;
    for (std::size_t k = 1; k < len; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        if ((b & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (b & 0x3F);
    }
    // Reject overlong forms, surrogates and values beyond U+10FFFF.
    static constexpr std::uint32_t min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
            ++i;
        } else if (c < 0x20) {
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 0xF];
            ++i;
        } else if (c < 0x80) {
            out += static_cast<char>(c);
            ++i;
        } else if (const std::size_t len = utf8_sequence_length(text, i); len != 0) {
            out.append(text.substr(i, len));
            i += len;
        } else {
            out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
            ++i;
        }
    }
    out += '"';
}

}  // namespace xentcheck::check
