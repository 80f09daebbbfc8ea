/// Internal: reading numbers, integers and matrices of a case, with field-naming errors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "xentcheck/cli/eval_case.h"

namespace xentcheck::cli::detail {

/// Which numbers a field accepts.
enum class number_rule {
    any,                ///< any number, including NaN and infinities (logits, expect values)
    finite,             ///< finite numbers only (targets, weights, options)
    finite_nonnegative  ///< finite and >= 0 (probs input, tolerances)
};

/// "row 1, class 2", "class 2" or "row 1" (rows/classes from 0); empty when both are absent.
std::string position_text(std::optional<std::size_t> row, std::optional<std::size_t> column);

/// Throws field_error(field, "<where>: <message>") (or just the message when `where` is empty).
[[noreturn]] void fail_at(const std::string& field, const std::string& where,
                          const std::string& message);

/// The number in `v` under `rule`; throws field_error naming `field` and `where` otherwise.
double read_number(const nlohmann::json& v, const std::string& field, const std::string& where,
                   number_rule rule);

/// The integer in `v` (a JSON integer, or a float with an integral value in range); throws
/// field_error naming `field` and `where` otherwise.
std::int64_t read_integer(const nlohmann::json& v, const std::string& field,
                          const std::string& where);

/// The string in `v`; throws field_error otherwise.
const std::string& read_string(const nlohmann::json& v, const std::string& field);

/// Shape of an array read by read_matrix.
struct matrix_shape {
    std::size_t rows = 0;     ///< 1 for a flat array
    std::size_t columns = 0;  ///< values per row
    bool nested = false;      ///< an array of arrays
};

/// Reads a 1-D array of numbers or a 2-D array of equal-length rows into `out` (row-major,
/// cleared first). When `columns` is given every row must have that many values. Rejects
/// non-arrays, empty arrays or rows, ragged rows, mixed 1-D/2-D, deeper nesting and numbers
/// outside `rule`, naming `field` and the position.
matrix_shape read_matrix(const nlohmann::json& v, const std::string& field,
                         std::vector<double>& out, number_rule rule,
                         std::optional<std::size_t> columns = std::nullopt);

/// "1 row", "2 rows": a count with the noun in the right number.
std::string count_text(std::size_t n, std::string_view singular, std::string_view plural);

/// The `probs` input of `c` (c.given, validated non-negative) to c.logits = ln p, after
/// checking that each row sums to 1 within the tolerance model's row-sum bound for the case's
/// dtype. Throws field_error("probs") otherwise (defined in case_parse.cpp).
void derive_logits_from_probs(eval_case& c);

/// Levenshtein distance (for "did you mean" suggestions on misspelt field names).
std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace xentcheck::cli::detail
