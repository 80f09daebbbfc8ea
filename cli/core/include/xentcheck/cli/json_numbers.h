/// xentcheck/cli/json_numbers.h: JSON numbers with non-finite values (decode, encode, pre-scan).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace xentcheck::cli {

/// The value of a non-finite spelling: "inf", "+inf", "-inf", "infinity", "+infinity",
/// "-infinity" or "nan", in any letter case. nullopt for any other text (including "-nan").
std::optional<double> parse_non_finite(std::string_view text) noexcept;

/// The number a JSON value holds: a JSON number (integer or float) or a string accepted by
/// parse_non_finite. nullopt for anything else (booleans, null, other strings, arrays, objects).
std::optional<double> json_to_double(const nlohmann::json& value) noexcept;

/// A short description of a JSON value's type for error messages: "a string \"abc\"",
/// "an array", "true", "null", ...
std::string describe_json_value(const nlohmann::json& value);

/// Appends `value` as JSON: the shortest decimal that reads back as exactly `value` (so every
/// number round-trips; -0 is written "-0.0" so a JSON reader keeps its sign), or the JSON
/// strings "nan", "inf", "-inf" for non-finite values.
void write_json_number(fmt::memory_buffer& out, double value);

namespace detail {
/// Most characters write_shortest keeps: "-2.2250738585072014e-308" is 24 (room to spare).
inline constexpr std::size_t max_shortest_length = 32;
/// The bytes write_shortest needs from `out` on: it copies fixed-size blocks, so it may write
/// (not keep) bytes past the text's end.
inline constexpr std::size_t shortest_room = 48;
/// Writes the finite `value` at `out` (shortest_room bytes) as write_json_number does (the
/// text of fmt's "{}": shortest round-trip digits, fixed notation for decimal exponents in
/// [-4, 16), else d.ddde+XX; "-0.0" for -0) and returns the end. No terminating NUL.
char* write_shortest(char* out, double value) noexcept;
}  // namespace detail

/// write_json_number into a new string.
std::string json_number(double value);

/// Bare non-finite tokens (NaN, Infinity, -Infinity, as Python's json module writes them)
/// found outside JSON strings and rewritten as quoted strings so a standard parser accepts
/// them. Each rewrite inserts two bytes (the quotes); `insertions` lets a parse error's byte
/// offset in the rewritten text be mapped back to the original text.
struct bare_token_rewrite {
    std::string text;                     ///< the rewritten text (empty when nothing changed)
    std::vector<std::size_t> insertions;  ///< offsets in `text` of each inserted quote byte
    /// Whether any token was rewritten.
    bool changed() const noexcept { return !insertions.empty(); }
    /// The offset in the original text corresponding to `offset` in the rewritten text.
    std::size_t original_offset(std::size_t offset) const noexcept;
};

/// Rewrites bare NaN / Infinity / -Infinity tokens outside strings into "NaN" / "Infinity" /
/// "-Infinity". Returns false (and leaves `out` empty) when the text has none, the common case,
/// which costs one scan for 'N' and 'I' bytes.
bool rewrite_bare_non_finite(std::string_view text, bare_token_rewrite& out);

}  // namespace xentcheck::cli
