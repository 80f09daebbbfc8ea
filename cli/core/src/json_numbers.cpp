/// JSON numbers with non-finite values: decoding, shortest round-trip encoding, bare tokens.
#include "xentcheck/cli/json_numbers.h"

#include "xentcheck/common/decimal_digits.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>

namespace xentcheck::cli {

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

bool equals_lowercase(std::string_view text, std::string_view lower) noexcept {
    if (text.size() != lower.size()) return false;
    for (std::size_t k = 0; k < text.size(); ++k) {
        char c = text[k];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != lower[k]) return false;
    }
    return true;
}

}  // namespace

std::optional<double> parse_non_finite(std::string_view text) noexcept {
    if (equals_lowercase(text, "nan")) return std::numeric_limits<double>::quiet_NaN();
    double sign = 1;
    if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
        sign = text[0] == '-' ? -1 : 1;
        text.remove_prefix(1);
    }
    if (equals_lowercase(text, "inf") || equals_lowercase(text, "infinity")) return sign * inf;
    return std::nullopt;
}

std::optional<double> json_to_double(const nlohmann::json& value) noexcept {
    switch (value.type()) {
        case nlohmann::json::value_t::number_float:
            return value.get_ref<const nlohmann::json::number_float_t&>();
        case nlohmann::json::value_t::number_integer:
            return static_cast<double>(value.get_ref<const nlohmann::json::number_integer_t&>());
        case nlohmann::json::value_t::number_unsigned:
            return static_cast<double>(value.get_ref<const nlohmann::json::number_unsigned_t&>());
        case nlohmann::json::value_t::string:
            return parse_non_finite(value.get_ref<const std::string&>());
        default:
            return std::nullopt;
    }
}

std::string describe_json_value(const nlohmann::json& value) {
    switch (value.type()) {
        case nlohmann::json::value_t::null:
            return "null";
        case nlohmann::json::value_t::boolean:
            return value.get<bool>() ? "true" : "false";
        case nlohmann::json::value_t::string: {
            std::string s = value.get_ref<const std::string&>();
            if (s.size() > 40) s = s.substr(0, 40) + "...";
            return "a string " +
                   nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        }
        case nlohmann::json::value_t::array:
            return "an array";
        case nlohmann::json::value_t::object:
            return "an object";
        case nlohmann::json::value_t::binary:
            return "binary data";
        case nlohmann::json::value_t::discarded:
            return "nothing";
        default:
            return "the number " + json_number(*json_to_double(value));
    }
}

namespace detail {

namespace {
/// memcpy of at most 32 bytes as one or two fixed-size (overlapping) moves: no library call
/// for the short, variable lengths of a number's parts, and nothing written past n.
inline void copy_short(char* to, const char* from, std::size_t n) noexcept {
    if (n >= 16) {
        std::memcpy(to, from, 16);
        std::memcpy(to + n - 16, from + n - 16, 16);
    } else if (n >= 8) {
        std::memcpy(to, from, 8);
        std::memcpy(to + n - 8, from + n - 8, 8);
    } else if (n >= 4) {
        std::memcpy(to, from, 4);
        std::memcpy(to + n - 4, from + n - 4, 4);
    } else if (n >= 2) {
        std::memcpy(to, from, 2);
        std::memcpy(to + n - 2, from + n - 2, 2);
    } else if (n == 1) {
        *to = *from;
    }
}

/// n <= 32 '0' bytes at `to`, as copy_short writes them.
inline void zeros_short(char* to, std::size_t n) noexcept {
    static constexpr char zeros[33] = "00000000000000000000000000000000";
    copy_short(to, zeros, n);
}
}  // namespace

char* write_shortest(char* out, double value) noexcept {
    if (value == 0) {
        if (std::signbit(value)) {
            // "-0" would read back as the integer 0; "-0.0" keeps the sign.
            std::memcpy(out, "-0.0", 4);
            return out + 4;
        }
        *out = '0';
        return out + 1;
    }
    if (value < 0) {
        *out++ = '-';
        value = -value;
    }
    // Dragonbox's shortest round-trip digits (fmt's own algorithm), laid out as fmt's "{}"
    // lays them out: fixed notation for decimal exponents in [-4, 16), else d[.ddd]e+XX.
    const auto dec = fmt::detail::dragonbox::to_decimal(value);
    char digits[17];
    const int size = common::write_significand(digits, dec.significand);
    const char* const first = digits + sizeof digits - size;
    const int exponent = dec.exponent;  // value = significand * 10^exponent
    const int output_exp = exponent + size - 1;
    if (output_exp < -4 || output_exp >= 16) {
        *out++ = first[0];
        if (size > 1) {
            *out++ = '.';
            copy_short(out, first + 1, static_cast<std::size_t>(size - 1));
            out += size - 1;
        }
        *out++ = 'e';
        int e = output_exp;
        *out++ = e < 0 ? '-' : '+';
        if (e < 0) e = -e;
        if (e >= 100) {
            if (e >= 1000) *out++ = static_cast<char>('0' + e / 1000);
            *out++ = static_cast<char>('0' + e / 100 % 10);
        }
        *out++ = static_cast<char>('0' + e / 10 % 10);
        *out++ = static_cast<char>('0' + e % 10);
        return out;
    }
    if (exponent >= 0) {  // 1234e5 -> 123400000
        copy_short(out, first, static_cast<std::size_t>(size));
        out += size;
        zeros_short(out, static_cast<std::size_t>(exponent));
        return out + exponent;
    }
    const int integer_digits = size + exponent;
    if (integer_digits > 0) {  // 1234e-2 -> 12.34
        copy_short(out, first, static_cast<std::size_t>(integer_digits));
        out += integer_digits;
        *out++ = '.';
        copy_short(out, first + integer_digits, static_cast<std::size_t>(-exponent));
        return out - exponent;
    }
    *out++ = '0';  // 1234e-6 -> 0.001234
    *out++ = '.';
    zeros_short(out, static_cast<std::size_t>(-integer_digits));
    out -= integer_digits;
    copy_short(out, first, static_cast<std::size_t>(size));
    return out + size;
}

}  // namespace detail

void write_json_number(fmt::memory_buffer& out, double value) {
    if (std::isnan(value)) {
        out.append(std::string_view("\"nan\""));
    } else if (std::isinf(value)) {
        out.append(value > 0 ? std::string_view("\"inf\"") : std::string_view("\"-inf\""));
    } else {
        char text[detail::max_shortest_length];
        out.append(text, detail::write_shortest(text, value));
    }
}

std::string json_number(double value) {
    fmt::memory_buffer b;
    write_json_number(b, value);
    return fmt::to_string(b);
}

std::size_t bare_token_rewrite::original_offset(std::size_t offset) const noexcept {
    const auto before = std::lower_bound(insertions.begin(), insertions.end(), offset);
    return offset - static_cast<std::size_t>(before - insertions.begin());
}

bool rewrite_bare_non_finite(std::string_view text, bare_token_rewrite& out) {
    out.text.clear();
    out.insertions.clear();
    // Outside strings valid JSON never contains 'N' or 'I', so text without them is left alone.
    // (Two memchr scans: find_first_of("NI") would call memchr once per byte.)
    if (text.find('N') == std::string_view::npos && text.find('I') == std::string_view::npos) {
        return false;
    }
    static constexpr std::string_view tokens[] = {"NaN", "Infinity", "-Infinity"};
    out.text.reserve(text.size() + 16);
    bool in_string = false;
    std::size_t k = 0;
    while (k < text.size()) {
        const char c = text[k];
        if (in_string) {
            out.text.push_back(c);
            if (c == '\\' && k + 1 < text.size()) {
                out.text.push_back(text[++k]);
            } else if (c == '"') {
                in_string = false;
            }
            ++k;
            continue;
        }
        if (c == '"') in_string = true;
        if (c == 'N' || c == 'I' || c == '-') {
            bool replaced = false;
            for (const std::string_view token : tokens) {
                if (text.substr(k, token.size()) == token) {
                    out.insertions.push_back(out.text.size());
                    out.text.push_back('"');
                    out.text.append(token);
                    out.insertions.push_back(out.text.size());
                    out.text.push_back('"');
                    k += token.size();
                    replaced = true;
                    break;
                }
            }
            if (replaced) continue;
        }
        out.text.push_back(c);
        ++k;
    }
    if (out.insertions.empty()) out.text.clear();
    return !out.insertions.empty();
}

}  // namespace xentcheck::cli
