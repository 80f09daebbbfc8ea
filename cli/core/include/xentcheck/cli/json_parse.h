/// xentcheck/cli/json_parse.h: JSON text to a document, with line/column errors and bare tokens.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "xentcheck/cli/json_numbers.h"

namespace xentcheck::cli {

/// Raised when text is not one JSON value. `line` and `column` (1-based, in bytes, of the
/// original text) are absent when the parser cannot tell where the problem is.
class json_syntax_error : public std::runtime_error {
  public:
    /// `message`: what is wrong, without the position.
    json_syntax_error(const std::string& message, std::optional<std::size_t> line,
                      std::optional<std::size_t> column)
        : std::runtime_error(message), line_(line), column_(column) {}
    std::optional<std::size_t> line() const noexcept { return line_; }      ///< 1-based line
    std::optional<std::size_t> column() const noexcept { return column_; }  ///< 1-based column

  private:
    std::optional<std::size_t> line_;
    std::optional<std::size_t> column_;
};

/// Prefix of the key under which a repeated object key's later value is kept. JSON parsers
/// usually keep one of the two silently; the case reader reports the repetition instead.
inline constexpr std::string_view duplicate_key_prefix =
    "\x01"
    "duplicate:";

/// Deepest nesting of arrays and objects accepted (a case needs at most 5 levels).
inline constexpr std::size_t max_json_depth = 64;

/// Parses `text`, which must hold exactly one JSON value, into `out`. Bare NaN, Infinity and
/// -Infinity outside strings are read as the strings "NaN", "Infinity", "-Infinity" (which
/// json_to_double accepts). A key repeated in one object keeps its first value; the later
/// value is stored under duplicate_key_prefix + key. `scratch` is reused between calls to
/// avoid allocation. Throws json_syntax_error.
void parse_json_text(std::string_view text, nlohmann::json& out, bare_token_rewrite& scratch);

/// parse_json_text with its own scratch space.
nlohmann::json parse_json_text(std::string_view text);

}  // namespace xentcheck::cli
