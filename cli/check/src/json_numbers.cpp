/// JSON number and string writing for the protocol codec (std::to_chars's text, no iostreams).
#include "xentcheck/check/json_numbers.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

// Dragonbox from fmt's headers alone (check_core does not link the fmt library).
#define FMT_HEADER_ONLY
#include <fmt/format.h>

namespace xentcheck::check {

namespace {

/// "00" "01" ... "99".
constexpr std::array<char, 200> two_digits = [] {
    std::array<char, 200> t{};
    for (int k = 0; k < 100; ++k) {
        t[2 * k] = static_cast<char>('0' + k / 10);
        t[2 * k + 1] = static_cast<char>('0' + k % 10);
    }
    return t;
}();

/// The text std::to_chars(first, last, value) writes for a finite, nonzero, positive value,
/// from Dragonbox's shortest round-trip digits (the digits to_chars selects: the fewest that
/// read back exactly, the nearest when several do): plain or scientific notation, whichever is
/// shorter, plain on a tie. About twice as fast as libstdc++'s to_chars.
char* write_to_chars_form(char* out, double value) {
    const auto dec = fmt::detail::dragonbox::to_decimal(value);
    char digits[20];
    char* const end = digits + sizeof digits;
    char* first = end;
    std::uint64_t s = dec.significand;
    for (; s >= 100; s /= 100) {
        first -= 2;
        std::memcpy(first, two_digits.data() + 2 * (s % 100), 2);
    }
    if (s >= 10) {
        first -= 2;
        std::memcpy(first, two_digits.data() + 2 * s, 2);
    } else {
        *--first = static_cast<char>('0' + s);
    }
    const int n = static_cast<int>(end - first);
    const int e = dec.exponent;  // value = digits * 10^e
    const int x = e + n - 1;     // scientific exponent
    const int abs_x = x < 0 ? -x : x;
    const int scientific = n + (n > 1 ? 1 : 0) + 2 + (abs_x >= 100 ? 3 : 2);
    const int plain = e >= 0 ? n + e : (n + e > 0 ? n + 1 : 2 - (n + e) + n);
    if (plain <= scientific) {
        if (e > 0 && value >= 0x1p53) {
            // Plain notation of an integer beyond 2^53: to_chars writes its exact digits
            // (221121057661485023232, not 221121057661485020000).
            return std::to_chars(out, out + 32, value).ptr;
        }
        if (e >= 0) {  // 1234e2 -> 123400
            std::memcpy(out, first, static_cast<std::size_t>(n));
            std::memset(out + n, '0', static_cast<std::size_t>(e));
            return out + n + e;
        }
        if (n + e > 0) {  // 1234e-2 -> 12.34
            std::memcpy(out, first, static_cast<std::size_t>(n + e));
            out[n + e] = '.';
            std::memcpy(out + n + e + 1, first + n + e, static_cast<std::size_t>(-e));
            return out + n + 1;
        }
        out[0] = '0';  // 1234e-6 -> 0.001234
        out[1] = '.';
        std::memset(out + 2, '0', static_cast<std::size_t>(-(n + e)));
        std::memcpy(out + 2 - (n + e), first, static_cast<std::size_t>(n));
        return out + 2 - (n + e) + n;
    }
    *out++ = first[0];  // d.ddde+XX
    if (n > 1) {
        *out++ = '.';
        std::memcpy(out, first + 1, static_cast<std::size_t>(n - 1));
        out += n - 1;
    }
    *out++ = 'e';
    *out++ = x < 0 ? '-' : '+';
    if (abs_x >= 100) *out++ = static_cast<char>('0' + abs_x / 100);
    *out++ = static_cast<char>('0' + abs_x / 10 % 10);
    *out++ = static_cast<char>('0' + abs_x % 10);
    return out;
}

}  // namespace

void append_json_integer(std::string& out, std::int64_t value) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, value);
    out.append(buf, r.ptr);
}

void append_json_number(std::string& out, double value) {
    if (std::isnan(value)) {
        out += "\"nan\"";
        return;
    }
    if (std::isinf(value)) {
        out += value > 0 ? "\"inf\"" : "\"-inf\"";
        return;
    }
    char buf[32];  // shortest round-trip double needs at most 24 characters
    char* p = buf;
    if (std::signbit(value)) *p++ = '-';
    if (value == 0) {
        *p++ = '0';
    } else {
        p = write_to_chars_form(p, std::abs(value));
    }
    out.append(buf, p);
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
