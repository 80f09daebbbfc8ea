/// Evaluation of a case: the long double reference, its invariants and the expect comparisons.
#include "xentcheck/cli/evaluation.h"

#include <algorithm>
#include <cmath>

#include "finite_difference_rows.h"
#include "given_invariants.h"
#include "xentcheck/cross_entropy.h"
#include "xentcheck/tolerance.h"

namespace xentcheck::cli {

namespace {

check_entry skipped(std::string name, std::string reason) {
    check_entry e;
    e.result.name = std::move(name);
    e.skipped = true;
    e.skip_reason = std::move(reason);
    return e;
}

/// Maps the rows of a check run on a subset of rows back to the rows of the batch.
void remap_rows(xentcheck::check_result& r, std::span<const std::size_t> rows) {
    if (r.worst && r.worst->row < rows.size()) r.worst->row = rows[r.worst->row];
    for (auto& f : r.findings) {
        if (f.where.row < rows.size()) f.where.row = rows[f.where.row];
    }
}

}  // namespace

bool evaluation::failed() const noexcept {
    return std::any_of(checks.begin(), checks.end(),
                       [](const check_entry& e) { return !e.skipped && !e.result.passed; });
}

template <class Check>
void evaluator::on_defined_rows(std::span<const double> values, std::size_t classes, Check check) {
    const std::size_t rows = classes == 0 ? 0 : values.size() / classes;
    check_entry entry;
    if (defined_rows_.size() == rows) {
        entry.result = check(values);
    } else {
        compact_.clear();
        for (const std::size_t i : defined_rows_) {
            const auto row = values.subspan(i * classes, classes);
            compact_.insert(compact_.end(), row.begin(), row.end());
        }
        entry.result = check(std::span<const double>(compact_));
        remap_rows(entry.result, defined_rows_);
    }
    result_.checks.push_back(std::move(entry));
}

void evaluator::run_reference(const eval_case& c) {
    const std::size_t n = c.logits.size();
    wide_logits_.resize(n);
    for (std::size_t k = 0; k < n; ++k) {
        // From probs, ln p in long double keeps the reference closer to p itself.
        wide_logits_[k] = c.from_probs ? std::log(static_cast<long double>(c.given[k]))
                                       : static_cast<long double>(c.logits[k]);
    }
    wide_probs_.resize(n);
    wide_grad_.resize(n);
    wide_loss_.resize(c.reduction == xentcheck::reduction::none ? c.rows : 1);
    xentcheck::cross_entropy<long double>(wide_logits_, c.classes, c.target(), c.options(),
                                          wide_loss_, wide_grad_, wide_probs_);
    const auto narrow = [](const std::vector<long double>& from, std::vector<double>& to) {
        to.resize(from.size());
        std::transform(from.begin(), from.end(), to.begin(),
                       [](long double x) { return static_cast<double>(x); });
    };
    narrow(wide_probs_, result_.probs);
    narrow(wide_loss_, result_.loss);
    narrow(wide_grad_, result_.grad);
    // The reference of a row with a NaN or +inf logit, or only -inf, is NaN throughout.
    defined_rows_.clear();
    for (std::size_t i = 0; i < c.rows; ++i) {
        if (!std::isnan(result_.probs[i * c.classes])) defined_rows_.push_back(i);
    }
}

void evaluator::run_reference_checks(const eval_case& c) {
    scale_ = xentcheck::measure_problem(xentcheck::unit_roundoff<double>(), c.logits, c.classes,
                                        c.target(), c.options());
    const xentcheck::tolerance_model model(scale_);
    const std::size_t classes = c.classes;
    on_defined_rows(result_.probs, classes, [&](std::span<const double> v) {
        return xentcheck::check_probs_in_unit_interval(v, classes, model);
    });
    on_defined_rows(result_.probs, classes, [&](std::span<const double> v) {
        return xentcheck::check_probs_sum_to_one(v, classes, model);
    });
    on_defined_rows(result_.grad, classes, [&](std::span<const double> v) {
        return xentcheck::check_grad_rows_sum_to_zero(v, classes, model);
    });
    if (model.scale().mixed_sign_targets) {
        result_.checks.push_back(
            skipped("loss_nonnegative",
                    "some effective target entry is negative (a negative weight or probability "
                    "target), so the loss may be negative"));
    } else {
        result_.checks.push_back(
            check_entry{xentcheck::check_loss_nonnegative(result_.loss, model), false, {}});
    }
    long double whole_loss = 0;  // lib's loss of the whole case, summed over rows for none
    for (const long double l : wide_loss_)
        whole_loss += l;
    result_.checks.push_back(detail::check_grad_by_finite_differences(
        c, result_.grad, defined_rows_, fd_scratch_, whole_loss));
}

void evaluator::run_expect_checks(const eval_case& c) {
    const expected_values& e = c.expect;
    if (!e.has_probs && !e.has_loss && !e.has_grad) return;
    // measure_problem depends on the unit roundoff only through the field it sets.
    xentcheck::problem_scale scale = scale_;
    scale.unit_roundoff = unit_roundoff_of(c.dtype);
    const xentcheck::tolerance_model model(scale);
    const std::size_t classes = c.classes;
    const auto renamed = [this](const char* name) { result_.checks.back().result.name = name; };
    if (e.has_probs) {
        result_.checks.push_back(
            check_entry{xentcheck::compare_values("expect.probs", result_.probs, e.probs, classes,
                                                  c.tolerance.value_or(model.probs())),
                        false,
                        {}});
        on_defined_rows(e.probs, classes, [&](std::span<const double> v) {
            return c.tolerance ? detail::unit_interval_within("", v, classes, *c.tolerance)
                               : xentcheck::check_probs_in_unit_interval(v, classes, model);
        });
        renamed("expect.probs_in_unit_interval");
        on_defined_rows(e.probs, classes, [&](std::span<const double> v) {
            return c.tolerance ? detail::row_sums_within("", v, classes, 1.0, *c.tolerance)
                               : xentcheck::check_probs_sum_to_one(v, classes, model);
        });
        renamed("expect.probs_sum_to_one");
    }
    if (e.has_loss) {
        result_.checks.push_back(
            check_entry{xentcheck::compare_values("expect.loss", result_.loss, e.loss, 1,
                                                  c.tolerance.value_or(model.loss())),
                        false,
                        {}});
    }
    if (e.has_grad) {
        std::vector<double> magnitudes;
        if (!c.tolerance) {
            magnitudes =
                xentcheck::grad_magnitudes(result_.probs, classes, c.target(), c.options());
            // An ignored row with an undefined reference has gradient 0 and magnitude 0
            // (no target mass), not 0 * NaN.
            for (double& m : magnitudes)
                if (std::isnan(m)) m = 0;
        }
        result_.checks.push_back(
            check_entry{xentcheck::compare_values("expect.grad", result_.grad, e.grad, classes,
                                                  c.tolerance.value_or(model.grad()), magnitudes),
                        false,
                        {}});
        on_defined_rows(e.grad, classes, [&](std::span<const double> v) {
            return c.tolerance ? detail::row_sums_within("", v, classes, 0.0, *c.tolerance)
                               : xentcheck::check_grad_rows_sum_to_zero(v, classes, model);
        });
        renamed("expect.grad_rows_sum_to_zero");
    }
}

const evaluation& evaluator::evaluate(const eval_case& c) {
    result_.checks.clear();
    run_reference(c);
    run_reference_checks(c);
    run_expect_checks(c);
    return result_;
}

}  // namespace xentcheck::cli
