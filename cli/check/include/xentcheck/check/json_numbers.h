/// xentcheck/check/json_numbers.h: exact JSON numbers with non-finite values as strings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace xentcheck::check {

/// Appends `value` to `out` as JSON: a finite value as the shortest decimal that reads back as
/// exactly the same double (std::to_chars), -0 as "-0"; +inf, -inf and NaN as the strings
/// "inf", "-inf" and "nan" (quotes included). A float32 value passed as a double is written
/// exactly too, so reading it back and narrowing to float is exact.
void append_json_number(std::string& out, double value);

/// Appends the integer `value` to `out` as a JSON number.
void append_json_integer(std::string& out, std::int64_t value);

/// Whether `value` is exactly representable in float32 (non-finite values are).
bool is_float32_exact(double value) noexcept;

/// The value of a non-finite token given as a JSON string's contents: "inf", "+inf", "-inf",
/// "infinity", "+infinity", "-infinity" and "nan" in any letter case (the set the case format
/// accepts). Nothing for any other text.
std::optional<double> parse_nonfinite_token(std::string_view text) noexcept;

/// Appends `text` to `out` as a JSON string (quotes included): '"', '\\' and control characters
/// escaped; invalid UTF-8 bytes replaced by U+FFFD so the result is always valid JSON.
void append_json_string(std::string& out, std::string_view text);

}  // namespace xentcheck::check
