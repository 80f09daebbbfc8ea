/// xentcheck/cli/json_out.h: JSON text output helpers (escaped strings, arrays of numbers).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "xentcheck/cli/json_numbers.h"

namespace xentcheck::cli {

/// Appends `text` as a JSON string: quotes, escapes for '"', '\\' and control characters, and
/// U+FFFD for each byte that is not part of valid UTF-8 (so the output is always valid JSON).
void write_json_string(fmt::memory_buffer& out, std::string_view text);

namespace detail {
/// The most bytes write_json_string writes for `size` bytes of text (a control character
/// becomes \u00XX; quotes included).
constexpr std::size_t json_string_bound(std::size_t size) noexcept {
    return 2 + 6 * size;
}
/// write_json_string to raw memory with room for json_string_bound(text.size()) bytes;
/// returns the end.
char* write_json_string(char* out, std::string_view text) noexcept;
}  // namespace detail

/// write_json_string into a new string.
std::string json_string(std::string_view text);

/// Appends `values` as a JSON array of numbers (write_json_number for each).
void write_json_numbers(fmt::memory_buffer& out, std::span<const double> values);

/// Appends a row-major matrix (`columns` values per row) as a JSON array of arrays when
/// `nested`, else as a flat array.
void write_json_matrix(fmt::memory_buffer& out, std::span<const double> values, std::size_t columns,
                       bool nested);

/// Appends a literal piece of JSON text.
inline void write_raw(fmt::memory_buffer& out, std::string_view text) {
    out.append(text);
}

}  // namespace xentcheck::cli
