/// One JSON case object to a validated eval_case: every field checked, every error named.
#include "xentcheck/cli/case_parse.h"

#include <array>
#include <cmath>
#include <string>

#include "case_values.h"
#include "xentcheck/cli/json_numbers.h"
#include "xentcheck/cli/json_out.h"
#include "xentcheck/cli/json_parse.h"
#include "xentcheck/tolerance.h"

namespace xentcheck::cli {

namespace {

using json = nlohmann::json;
using detail::fail_at;
using detail::number_rule;
using detail::position_text;

constexpr std::array<std::string_view, 12> all_case_fields = {
    "name",      "note",   "logits",       "probs",
    "target",    "weight", "ignore_index", "label_smoothing",
    "reduction", "dtype",  "expect",       "tolerance"};
constexpr std::array<std::string_view, 3> all_expect_fields = {"probs", "loss", "grad"};
constexpr std::array<std::string_view, 2> all_tolerance_fields = {"rtol", "atol"};

std::string list_of(std::span<const std::string_view> names) {
    std::string s;
    for (const auto n : names) {
        if (!s.empty()) s += ", ";
        s += n;
    }
    return s;
}

/// The error for a key that is not one of `known` (a repeated key or an unknown one, with a
/// suggestion when the key is a likely misspelling).
[[noreturn]] void reject_key(const std::string& prefix, const std::string& key,
                             std::span<const std::string_view> known) {
    if (key.rfind(duplicate_key_prefix, 0) == 0) {
        fail_at(prefix + key.substr(duplicate_key_prefix.size()), "",
                "given more than once (the first value would be used; remove the others)");
    }
    std::string_view best;
    std::size_t best_distance = 3;
    for (const auto k : known) {
        const std::size_t d = detail::edit_distance(key, k);
        if (d < best_distance) best = k, best_distance = d;
    }
    if (!best.empty()) {
        fail_at(prefix + key, "", "unknown field; did you mean \"" + std::string(best) + "\"?");
    }
    fail_at(prefix + key, "", "unknown field (allowed: " + list_of(known) + ")");
}

/// The members of a case object, found in one pass over its keys.
struct case_members {
    const json* fields[all_case_fields.size()] = {};
    const std::string* unknown = nullptr;
    const json* get(std::string_view name) const {
        for (std::size_t k = 0; k < all_case_fields.size(); ++k) {
            if (all_case_fields[k] == name) return fields[k];
        }
        return nullptr;
    }
};

case_members collect_members(const json::object_t& object) {
    case_members m;
    for (const auto& [key, value] : object) {
        bool known = false;
        for (std::size_t k = 0; k < all_case_fields.size(); ++k) {
            if (all_case_fields[k] == key) {
                m.fields[k] = &value;
                known = true;
                break;
            }
        }
        if (!known && !m.unknown) m.unknown = &key;
    }
    return m;
}

void read_target(const json& v, eval_case& c) {
    const std::string field = "target";
    const bool is_number_like = json_to_double(v).has_value();
    if (is_number_like) {
        c.target_kind = xentcheck::target_view::kind::index;
        c.target_is_scalar = true;
        c.target_indices.push_back(detail::read_integer(v, field, ""));
        if (c.rows != 1) {
            fail_at(field, "",
                    "one class index needs one row of logits, but there are " +
                        std::to_string(c.rows) + " rows; give one index per row");
        }
        return;
    }
    if (!v.is_array() || v.empty()) {
        fail_at(field, "",
                v.is_array() ? std::string("is empty")
                             : "expected a class index, an array of class indices or of "
                               "probabilities, got " +
                                   describe_json_value(v));
    }
    const auto& items = v.get_ref<const json::array_t&>();
    if (items.front().is_array()) {
        c.target_kind = xentcheck::target_view::kind::probability;
        const auto shape =
            detail::read_matrix(v, field, c.target_probs, number_rule::finite, c.classes);
        if (shape.rows != c.rows) {
            fail_at(field, "",
                    "has " + detail::count_text(shape.rows, "probability row", "probability rows") +
                        ", expected " + std::to_string(c.rows) + " (one per row of logits)");
        }
        return;
    }
    if (!c.batched) {
        c.target_kind = xentcheck::target_view::kind::probability;
        detail::read_matrix(v, field, c.target_probs, number_rule::finite, c.classes);
        return;
    }
    c.target_kind = xentcheck::target_view::kind::index;
    if (items.size() != c.rows) {
        fail_at(field, "",
                "has " + detail::count_text(items.size(), "class index", "class indices") +
                    ", expected " + std::to_string(c.rows) + " (one per row of logits)");
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
        c.target_indices.push_back(detail::read_integer(items[i], field, position_text(i, {})));
    }
}

void check_target_range(const eval_case& c) {
    if (c.target_kind != xentcheck::target_view::kind::index) return;
    const auto classes = static_cast<std::int64_t>(c.classes);
    for (std::size_t i = 0; i < c.target_indices.size(); ++i) {
        const std::int64_t t = c.target_indices[i];
        if (t == c.ignore_index || (t >= 0 && t < classes)) continue;
        fail_at("target", c.target_is_scalar ? "" : position_text(i, {}),
                "class index " + std::to_string(t) + " is out of range [0, " +
                    std::to_string(classes) + ") and is not ignore_index (" +
                    std::to_string(c.ignore_index) + ")");
    }
}

void read_expect_matrix(const json& v, const std::string& field, const eval_case& c,
                        std::vector<double>& out) {
    const auto shape = detail::read_matrix(v, field, out, number_rule::any, c.classes);
    if (c.batched && !shape.nested) {
        fail_at(field, "",
                "expected " + std::to_string(c.rows) + " rows of " + std::to_string(c.classes) +
                    " values (the shape of the logits), got a 1-D array");
    }
    if (!c.batched && shape.nested) {
        fail_at(field, "",
                "expected " + std::to_string(c.classes) +
                    " values (the shape of the logits, one row), got a 2-D array");
    }
    if (shape.rows != c.rows) {
        fail_at(field, "",
                "has " + detail::count_text(shape.rows, "row", "rows") + ", expected " +
                    std::to_string(c.rows) + " (the shape of the logits)");
    }
}

void read_expect(const json& v, eval_case& c) {
    if (!v.is_object()) {
        fail_at("expect", "",
                "expected an object with probs, loss and/or grad, got " + describe_json_value(v));
    }
    for (const auto& [key, value] : v.get_ref<const json::object_t&>()) {
        if (key == "probs") {
            c.expect.has_probs = true;
            read_expect_matrix(value, "expect.probs", c, c.expect.probs);
        } else if (key == "grad") {
            c.expect.has_grad = true;
            read_expect_matrix(value, "expect.grad", c, c.expect.grad);
        } else if (key == "loss") {
            c.expect.has_loss = true;
            const bool per_row = c.reduction == xentcheck::reduction::none;
            const std::string field = "expect.loss";
            if (value.is_array()) {
                if (!per_row) {
                    fail_at(field, "",
                            "expected one number for reduction \"" +
                                std::string(xentcheck::to_string(c.reduction)) +
                                "\", got an array");
                }
                c.expect.loss_is_array = true;
                const auto shape =
                    detail::read_matrix(value, field, c.expect.loss, number_rule::any);
                if (shape.nested || shape.columns != c.rows) {
                    fail_at(field, "",
                            "expected " + std::to_string(c.rows) +
                                " numbers (one per row, reduction \"none\"), got " +
                                (shape.nested ? std::string("a 2-D array")
                                              : std::to_string(shape.columns) + " numbers"));
                }
            } else {
                if (per_row && c.rows != 1) {
                    fail_at(field, "",
                            "expected an array of " + std::to_string(c.rows) +
                                " numbers (one per row, reduction \"none\"), got " +
                                describe_json_value(value));
                }
                c.expect.loss.push_back(detail::read_number(value, field, "", number_rule::any));
            }
        } else {
            reject_key("expect.", key, all_expect_fields);
        }
    }
}

void read_tolerance(const json& v, eval_case& c) {
    if (!v.is_object()) {
        fail_at("tolerance", "",
                "expected an object {\"rtol\": r, \"atol\": a}, got " + describe_json_value(v));
    }
    const auto& object = v.get_ref<const json::object_t&>();
    if (object.empty()) fail_at("tolerance", "", "is empty; give rtol, atol or both");
    xentcheck::tolerance t;
    for (const auto& [key, value] : object) {
        if (key == "rtol") {
            t.rtol =
                detail::read_number(value, "tolerance.rtol", "", number_rule::finite_nonnegative);
        } else if (key == "atol") {
            t.atol =
                detail::read_number(value, "tolerance.atol", "", number_rule::finite_nonnegative);
        } else {
            reject_key("tolerance.", key, all_tolerance_fields);
        }
    }
    c.tolerance = t;
}

}  // namespace

/// The `probs` input: each row must sum to 1 within the tolerance model's row-sum bound for
/// the case's dtype; the logits become ln p (0 gives -inf).
void detail::derive_logits_from_probs(eval_case& c) {
    c.logits.resize(c.given.size());
    for (std::size_t k = 0; k < c.given.size(); ++k)
        c.logits[k] = std::log(c.given[k]);
    xentcheck::tolerance bound;
    try {
        const xentcheck::tolerance_model model(xentcheck::measure_problem(
            unit_roundoff_of(c.dtype), c.logits, c.classes, c.target(), c.options()));
        bound = model.probs_row_sum();
    } catch (const xentcheck::input_error& e) {
        throw field_error(e.field(), e.what());
    }
    for (std::size_t i = 0; i < c.rows; ++i) {
        long double sum = 0;
        for (std::size_t j = 0; j < c.classes; ++j)
            sum += c.given[i * c.classes + j];
        const auto s = static_cast<double>(sum);
        if (!bound.accepts(1.0, s, 1.0)) {
            fail_at("probs", position_text(i, {}),
                    "sums to " + json_number(s) +
                        ", not 1 (|sum - 1| = " + json_number(std::abs(s - 1)) + " > allowed " +
                        json_number(bound.bound(1.0)) + " for " + std::string(to_string(c.dtype)) +
                        ")");
        }
    }
}

std::span<const std::string_view> case_fields() noexcept {
    return all_case_fields;
}
std::span<const std::string_view> expect_fields() noexcept {
    return all_expect_fields;
}
std::span<const std::string_view> tolerance_fields() noexcept {
    return all_tolerance_fields;
}

void parse_case(const json& value, eval_case& c) {
    const std::size_t index = c.index;
    const auto line = c.line;
    c.clear();
    c.index = index;
    c.line = line;
    if (!value.is_object()) {
        fail_at("", "", "a case must be a JSON object, got " + describe_json_value(value));
    }
    const case_members m = collect_members(value.get_ref<const json::object_t&>());
    if (const json* v = m.get("name")) c.name = detail::read_string(*v, "name");
    if (m.unknown) reject_key("", *m.unknown, all_case_fields);
    if (const json* v = m.get("note")) c.note = detail::read_string(*v, "note");

    const json* logits = m.get("logits");
    const json* probs = m.get("probs");
    if (logits && probs) fail_at("probs", "", "both logits and probs are given; give one of them");
    if (!logits && !probs) fail_at("logits", "", "missing; give logits (or probs)");
    c.from_probs = probs != nullptr;
    const auto shape = detail::read_matrix(
        c.from_probs ? *probs : *logits, c.from_probs ? "probs" : "logits", c.given,
        c.from_probs ? number_rule::finite_nonnegative : number_rule::any);
    c.batched = shape.nested;
    c.rows = shape.rows;
    c.classes = shape.columns;

    const json* target = m.get("target");
    if (!target) fail_at("target", "", "missing; every case needs a target");
    read_target(*target, c);

    if (const json* v = m.get("weight")) {
        const auto w = detail::read_matrix(*v, "weight", c.weight, number_rule::finite);
        if (w.nested) fail_at("weight", "", "expected a flat array of one weight per class");
        if (w.columns != c.classes) {
            fail_at("weight", "",
                    "has " + std::to_string(w.columns) + " values, expected " +
                        std::to_string(c.classes) + " (one per class)");
        }
    }
    if (const json* v = m.get("ignore_index")) {
        c.ignore_index = detail::read_integer(*v, "ignore_index", "");
    }
    if (const json* v = m.get("label_smoothing")) {
        c.label_smoothing = detail::read_number(*v, "label_smoothing", "", number_rule::finite);
        if (c.label_smoothing < 0 || c.label_smoothing > 1) {
            fail_at("label_smoothing", "", json_number(c.label_smoothing) + " is outside [0, 1]");
        }
    }
    if (const json* v = m.get("reduction")) {
        const std::string& r = detail::read_string(*v, "reduction");
        if (r == "none") {
            c.reduction = xentcheck::reduction::none;
        } else if (r == "mean") {
            c.reduction = xentcheck::reduction::mean;
        } else if (r == "sum") {
            c.reduction = xentcheck::reduction::sum;
        } else {
            fail_at("reduction", "", json_string(r) + " is not one of \"none\", \"mean\", \"sum\"");
        }
    }
    if (const json* v = m.get("dtype")) {
        const std::string& d = detail::read_string(*v, "dtype");
        const auto parsed = parse_dtype(d);
        if (!parsed)
            fail_at("dtype", "", json_string(d) + " is not one of \"float64\", \"float32\"");
        c.dtype = *parsed;
    }
    check_target_range(c);
    if (const json* v = m.get("expect")) read_expect(*v, c);
    if (const json* v = m.get("tolerance")) read_tolerance(*v, c);

    if (c.from_probs) {
        detail::derive_logits_from_probs(c);
    } else {
        c.logits = c.given;
    }
}

}  // namespace xentcheck::cli
