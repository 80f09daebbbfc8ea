/// A direct reader of common, valid case lines: no JSON document, no per-value allocation.
#include "case_fast_parse.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>

#include "case_line_cursor.h"
#include "case_values.h"
#include "xentcheck/cli/input_problem.h"
#include "xentcheck/cli/json_numbers.h"

namespace xentcheck::cli::detail {

namespace {

using line_reading::array_shape;
using line_reading::cursor;
using line_reading::number_token;

enum field : int {
    f_name,
    f_note,
    f_logits,
    f_probs,
    f_target,
    f_weight,
    f_ignore_index,
    f_label_smoothing,
    f_reduction,
    f_dtype,
    f_expect,
    f_tolerance,
    field_count
};
constexpr std::string_view field_names[field_count] = {
    "name",      "note",   "logits",       "probs",
    "target",    "weight", "ignore_index", "label_smoothing",
    "reduction", "dtype",  "expect",       "tolerance"};

/// The field of `key`, or field_count for an unknown key.
int field_of(std::string_view key) {
    for (int k = 0; k < field_count; ++k) {
        if (field_names[k] == key) return k;
    }
    return field_count;
}

/// expect.probs / expect.grad against the shape of the logits.
bool expect_matrix_fits(const array_shape& s, const eval_case& c) {
    return s.nested == c.batched && s.columns == c.classes && s.rows == c.rows;
}

}  // namespace

bool fast_parse_case(std::string_view text, eval_case& c) {
    const std::size_t index = c.index;
    const auto line = c.line;
    c.clear();
    c.index = index;
    c.line = line;

    cursor in(text);
    bool seen[field_count] = {};
    array_shape given_shape, target_shape, weight_shape, probs_shape, grad_shape, loss_shape;
    bool target_scalar = false, target_whole = false;
    std::int64_t target_value = 0;
    std::string_view reduction, dtype;
    bool loss_scalar = false;
    double loss_value = 0;
    bool tolerance_given = false;
    xentcheck::tolerance tolerance;
    std::vector<std::int64_t>& wholes = c.target_indices;

    if (!in.consume('{') || in.consume('}')) return false;
    do {
        std::string_view key;
        if (!in.string(key) || !in.consume(':')) return false;
        const int f = field_of(key);
        if (f == field_count || seen[f]) return false;  // unknown or repeated: full parser
        seen[f] = true;
        number_token t;
        switch (f) {
            case f_name:
            case f_note: {
                std::string_view s;
                if (!in.string(s)) return false;
                (f == f_name ? c.name : c.note) = std::string(s);
                break;
            }
            case f_logits:
            case f_probs:
                if (!in.array(c.given, given_shape,
                              f == f_probs ? number_rule::finite_nonnegative : number_rule::any)) {
                    return false;
                }
                break;
            case f_target:
                if (in.peek() == '[') {
                    if (!in.array(c.target_probs, target_shape, number_rule::any, &wholes,
                                  &target_whole)) {
                        return false;
                    }
                } else {
                    if (!in.number(t) || !cursor::as_integer(t, target_value)) return false;
                    target_scalar = true;
                }
                break;
            case f_weight:
                if (!in.array(c.weight, weight_shape, number_rule::finite)) return false;
                break;
            case f_ignore_index:
                if (!in.number(t) || !cursor::as_integer(t, c.ignore_index)) return false;
                break;
            case f_label_smoothing:
                if (!in.number(t) || !std::isfinite(t.value)) return false;
                c.label_smoothing = t.value;
                break;
            case f_reduction:
                if (!in.string(reduction)) return false;
                break;
            case f_dtype:
                if (!in.string(dtype)) return false;
                break;
            case f_expect: {
                if (!in.consume('{') || in.consume('}')) {
                    // An empty expect is valid but rare: the full parser handles it.
                    return false;
                }
                bool probs = false, grad = false, loss = false;
                do {
                    std::string_view k;
                    if (!in.string(k) || !in.consume(':')) return false;
                    if (k == "probs" && !probs) {
                        probs = true;
                        if (!in.array(c.expect.probs, probs_shape, number_rule::any)) return false;
                    } else if (k == "grad" && !grad) {
                        grad = true;
                        if (!in.array(c.expect.grad, grad_shape, number_rule::any)) return false;
                    } else if (k == "loss" && !loss) {
                        loss = true;
                        if (in.peek() == '[') {
                            if (!in.array(c.expect.loss, loss_shape, number_rule::any)) {
                                return false;
                            }
                        } else {
                            if (!in.number(t)) return false;
                            loss_scalar = true;
                            loss_value = t.value;
                        }
                    } else {
                        return false;
                    }
                } while (in.consume(','));
                if (!in.consume('}')) return false;
                c.expect.has_probs = probs;
                c.expect.has_grad = grad;
                c.expect.has_loss = loss;
                break;
            }
            case f_tolerance: {
                if (!in.consume('{') || in.consume('}')) return false;
                bool rtol = false, atol = false;
                do {
                    std::string_view k;
                    if (!in.string(k) || !in.consume(':')) return false;
                    if (!in.number(t) || !cursor::allowed(t.value, number_rule::finite_nonnegative))
                        return false;
                    if (k == "rtol" && !rtol) {
                        rtol = true;
                        tolerance.rtol = t.value;
                    } else if (k == "atol" && !atol) {
                        atol = true;
                        tolerance.atol = t.value;
                    } else {
                        return false;
                    }
                } while (in.consume(','));
                if (!in.consume('}')) return false;
                tolerance_given = true;
                break;
            }
            default:
                return false;
        }
    } while (in.consume(','));
    if (!in.consume('}') || !in.at_end()) return false;

    // The rules of parse_case, in its order; any violation goes to the full parser.
    if (seen[f_logits] == seen[f_probs]) return false;
    c.from_probs = seen[f_probs];
    c.batched = given_shape.nested;
    c.rows = given_shape.rows;
    c.classes = given_shape.columns;

    if (!seen[f_target]) return false;
    if (target_scalar) {
        if (c.rows != 1) return false;
        c.target_kind = xentcheck::target_view::kind::index;
        c.target_is_scalar = true;
        c.target_probs.clear();
        c.target_indices.assign(1, target_value);
    } else if (target_shape.nested || !c.batched) {
        // Probability rows: finite, C per row, one per row of logits.
        c.target_kind = xentcheck::target_view::kind::probability;
        if (target_shape.columns != c.classes || target_shape.rows != c.rows) return false;
        for (const double v : c.target_probs)
            if (!std::isfinite(v)) return false;
        c.target_indices.clear();
    } else {
        c.target_kind = xentcheck::target_view::kind::index;
        if (!target_whole || c.target_indices.size() != c.rows) return false;
        c.target_probs.clear();
    }
    if (seen[f_weight] && (weight_shape.nested || weight_shape.columns != c.classes)) return false;
    if (c.label_smoothing < 0 || c.label_smoothing > 1) return false;
    if (seen[f_reduction]) {
        if (reduction == "none") {
            c.reduction = xentcheck::reduction::none;
        } else if (reduction == "mean") {
            c.reduction = xentcheck::reduction::mean;
        } else if (reduction == "sum") {
            c.reduction = xentcheck::reduction::sum;
        } else {
            return false;
        }
    }
    if (seen[f_dtype]) {
        const auto d = parse_dtype(dtype);
        if (!d) return false;
        c.dtype = *d;
    }
    if (c.target_kind == xentcheck::target_view::kind::index) {
        const auto classes = static_cast<std::int64_t>(c.classes);
        for (const std::int64_t t : c.target_indices) {
            if (t != c.ignore_index && (t < 0 || t >= classes)) return false;
        }
    }
    if (c.expect.has_probs && !expect_matrix_fits(probs_shape, c)) return false;
    if (c.expect.has_grad && !expect_matrix_fits(grad_shape, c)) return false;
    if (c.expect.has_loss) {
        const bool per_row = c.reduction == xentcheck::reduction::none;
        if (loss_scalar) {
            if (per_row && c.rows != 1) return false;
            c.expect.loss.assign(1, loss_value);
        } else {
            if (!per_row || loss_shape.nested || loss_shape.columns != c.rows) return false;
            c.expect.loss_is_array = true;
        }
    }
    if (tolerance_given) c.tolerance = tolerance;

    if (c.from_probs) {
        try {
            derive_logits_from_probs(c);
        } catch (const field_error&) {
            return false;
        }
    } else {
        c.logits = c.given;
    }
    return true;
}

}  // namespace xentcheck::cli::detail
