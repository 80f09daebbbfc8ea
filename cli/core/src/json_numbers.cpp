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

static_assert(shortest_room >= 1 + common::decimal_layout_room, "a sign, then the layout");

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
    const common::significand_digits digits(dec.significand);
    const int output_exp = dec.exponent + digits.size() - 1;
    if (output_exp < -4 || output_exp >= 16)
        return common::write_scientific(out, digits, output_exp);
    return common::write_plain(out, digits, dec.exponent);
}

}  // namespace detail

void write_json_number(fmt::memory_buffer& out, double value) {
    if (std::isnan(value)) {
        out.append(std::string_view("\"nan\""));
    } else if (std::isinf(value)) {
        out.append(value > 0 ? std::string_view("\"inf\"") : std::string_view("\"-inf\""));
    } else {
        char text[detail::shortest_room];
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
