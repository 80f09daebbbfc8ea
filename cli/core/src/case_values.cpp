/// Reading numbers, integers and matrices of a case, with errors naming field and position.
#include "case_values.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "xentcheck/cli/input_problem.h"
#include "xentcheck/cli/json_numbers.h"

namespace xentcheck::cli::detail {

namespace {

using json = nlohmann::json;

std::string non_finite_name(double x) {
    if (std::isnan(x)) return "NaN";
    return x > 0 ? "inf" : "-inf";
}

}  // namespace

std::string position_text(std::optional<std::size_t> row, std::optional<std::size_t> column) {
    std::string s;
    if (row) s = "row " + std::to_string(*row);
    if (column) {
        if (!s.empty()) s += ", ";
        s += "class " + std::to_string(*column);
    }
    return s;
}

void fail_at(const std::string& field, const std::string& where, const std::string& message) {
    throw field_error(field, where.empty() ? message : where + ": " + message);
}

double read_number(const json& v, const std::string& field, const std::string& where,
                   number_rule rule) {
    const std::optional<double> x = json_to_double(v);
    if (!x) fail_at(field, where, "expected a number, got " + describe_json_value(v));
    if (rule != number_rule::any && !std::isfinite(*x)) {
        fail_at(field, where,
                non_finite_name(*x) +
                    " is not allowed here (only logits and expect values may be non-finite)");
    }
    if (rule == number_rule::finite_nonnegative && *x < 0) {
        fail_at(field, where, json_number(*x) + " is negative; it must be >= 0");
    }
    return *x;
}

std::int64_t read_integer(const json& v, const std::string& field, const std::string& where) {
    if (v.is_number_integer() && !v.is_number_unsigned()) return v.get<std::int64_t>();
    if (v.is_number_unsigned()) {
        const auto u = v.get<std::uint64_t>();
        if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            return static_cast<std::int64_t>(u);
        }
        fail_at(field, where, std::to_string(u) + " is too large for a 64-bit integer");
    }
    const std::optional<double> x = json_to_double(v);
    if (!x) fail_at(field, where, "expected an integer, got " + describe_json_value(v));
    if (!std::isfinite(*x)) {
        fail_at(field, where, non_finite_name(*x) + " is not allowed here (expected an integer)");
    }
    // 2^63 is exactly representable; every double below it in magnitude with no fraction
    // converts exactly.
    if (std::trunc(*x) != *x || std::abs(*x) >= 0x1p63) {
        fail_at(field, where, "expected an integer, got " + json_number(*x));
    }
    return static_cast<std::int64_t>(*x);
}

const std::string& read_string(const json& v, const std::string& field) {
    if (!v.is_string()) fail_at(field, "", "expected a string, got " + describe_json_value(v));
    return v.get_ref<const std::string&>();
}

matrix_shape read_matrix(const json& v, const std::string& field, std::vector<double>& out,
                         number_rule rule, std::optional<std::size_t> columns) {
    out.clear();
    if (!v.is_array()) {
        fail_at(field, "", "expected an array of numbers, got " + describe_json_value(v));
    }
    const auto& items = v.get_ref<const json::array_t&>();
    if (items.empty()) fail_at(field, "", "is empty; expected at least one value");
    matrix_shape shape;
    shape.nested = items.front().is_array();
    if (!shape.nested) {
        shape.rows = 1;
        shape.columns = items.size();
        if (columns && shape.columns != *columns) {
            fail_at(field, "",
                    "has " + count_text(shape.columns, "value", "values") + ", expected " +
                        std::to_string(*columns) + " (one per class)");
        }
        out.reserve(items.size());
        for (std::size_t j = 0; j < items.size(); ++j) {
            if (items[j].is_array()) {
                fail_at(field, position_text(std::nullopt, j),
                        "is an array, but class 0 is a number (mixed 1-D and 2-D)");
            }
            out.push_back(read_number(items[j], field, position_text(std::nullopt, j), rule));
        }
        return shape;
    }
    shape.rows = items.size();
    for (std::size_t i = 0; i < items.size(); ++i) {
        const json& row = items[i];
        if (!row.is_array()) {
            fail_at(field, position_text(i, std::nullopt),
                    "expected an array (row 0 is one), got " + describe_json_value(row));
        }
        const auto& values = row.get_ref<const json::array_t&>();
        if (values.empty()) fail_at(field, "", "row " + std::to_string(i) + " is empty");
        const std::size_t expected = columns ? *columns : items.front().size();
        if (values.size() != expected) {
            fail_at(field, "",
                    "row " + std::to_string(i) + " has " +
                        count_text(values.size(), "value", "values") + ", expected " +
                        std::to_string(expected));
        }
        if (i == 0) {
            shape.columns = expected;
            out.reserve(items.size() * expected);
        }
        for (std::size_t j = 0; j < values.size(); ++j) {
            if (values[j].is_array()) {
                fail_at(field, position_text(i, j),
                        "is an array; expected a number (at most 2-D: rows of classes)");
            }
            out.push_back(read_number(values[j], field, position_text(i, j), rule));
        }
    }
    return shape;
}

std::string count_text(std::size_t n, std::string_view singular, std::string_view plural) {
    return std::to_string(n) + " " + std::string(n == 1 ? singular : plural);
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> previous(b.size() + 1), current(b.size() + 1);
    std::iota(previous.begin(), previous.end(), std::size_t{0});
    for (std::size_t i = 1; i <= a.size(); ++i) {
        current[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t substitute = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
            current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitute});
        }
        std::swap(previous, current);
    }
    return previous[b.size()];
}

}  // namespace xentcheck::cli::detail
