/// Evaluation of a case: the long double reference, its invariants and the expect comparisons.
#include "xentcheck/cli/evaluation.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>

#include "finite_difference_rows.h"
#include "given_invariants.h"
#include "xentcheck/cross_entropy.h"
#include "xentcheck/tolerance.h"

namespace xentcheck::cli {

namespace {

/// Marks `e` skipped: a fresh result with only its name, and the reason.
void mark_skipped(check_entry& e, std::string_view name, std::string_view reason) {
    e.result = xentcheck::check_result{};
    e.result.name.assign(name);
    e.skipped = true;
    e.skip_reason.assign(reason);
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

check_entry& evaluator::next_check() {
    std::vector<check_entry>& checks = result_.checks;
    if (used_checks_ == checks.size()) {
        if (spare_checks_.empty()) {
            checks.emplace_back();
        } else {
            checks.push_back(std::move(spare_checks_.back()));
            spare_checks_.pop_back();
        }
    }
    check_entry& e = checks[used_checks_++];
    e.skipped = false;
    e.skip_reason.clear();
    return e;
}

template <class Check>
void evaluator::on_defined_rows(std::span<const double> values, std::size_t classes, Check check) {
    const std::size_t rows = classes == 0 ? 0 : values.size() / classes;
    check_entry& entry = next_check();
    if (defined_rows_.size() == rows) {
        check(entry.result, values);
    } else {
        compact_.clear();
        for (const std::size_t i : defined_rows_) {
            const auto row = values.subspan(i * classes, classes);
            compact_.insert(compact_.end(), row.begin(), row.end());
        }
        check(entry.result, std::span<const double>(compact_));
        remap_rows(entry.result, defined_rows_);
    }
}

void evaluator::run_reference(const eval_case& c) {
    const std::size_t n = c.logits.size();
    wide_probs_.resize(n);
    wide_grad_.resize(n);
    wide_loss_.resize(c.reduction == xentcheck::reduction::none ? c.rows : 1);
    if (c.from_probs) {
        // From probs, ln p in long double keeps the reference closer to p itself.
        wide_logits_.resize(n);
        for (std::size_t k = 0; k < n; ++k)
            wide_logits_[k] = std::log(static_cast<long double>(c.given[k]));
        xentcheck::cross_entropy<long double>(wide_logits_, c.classes, c.target(), c.options(),
                                              wide_loss_, wide_grad_, wide_probs_);
    } else {
        // Double logits: the same bits as converting them first, without the copy.
        xentcheck::cross_entropy_widened(c.logits, c.classes, c.target(), c.options(), wide_loss_,
                                         wide_grad_, wide_probs_);
    }
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
    model_tolerances& t = reference_tolerances_;
    t = {model.probs(), model.probs_row_sum(), model.loss(), model.grad_row_sum()};
    const std::size_t classes = c.classes;
    on_defined_rows(result_.probs, classes,
                    [&](xentcheck::check_result& out, std::span<const double> v) {
                        xentcheck::check_probs_in_unit_interval(out, v, classes, t.probs);
                    });
    on_defined_rows(result_.probs, classes,
                    [&](xentcheck::check_result& out, std::span<const double> v) {
                        xentcheck::check_probs_sum_to_one(out, v, classes, t.probs_row_sum);
                    });
    on_defined_rows(result_.grad, classes,
                    [&](xentcheck::check_result& out, std::span<const double> v) {
                        xentcheck::check_grad_rows_sum_to_zero(out, v, classes, t.grad_row_sum);
                    });
    if (model.scale().mixed_sign_targets) {
        mark_skipped(next_check(), "loss_nonnegative",
                     "some effective target entry is negative (a negative weight or probability "
                     "target), so the loss may be negative");
    } else {
        xentcheck::check_loss_nonnegative(next_check().result, result_.loss, model.loss_floor());
    }
    long double whole_loss = 0;  // lib's loss of the whole case, summed over rows for none
    for (const long double l : wide_loss_)
        whole_loss += l;
    detail::check_grad_by_finite_differences(next_check(), c, result_.grad, defined_rows_,
                                             fd_scratch_, whole_loss, &scale_);
}

void evaluator::run_expect_checks(const eval_case& c) {
    const expected_values& e = c.expect;
    if (!e.has_probs && !e.has_loss && !e.has_grad) return;
    // measure_problem depends on the unit roundoff only through the field it sets.
    xentcheck::problem_scale scale = scale_;
    scale.unit_roundoff = unit_roundoff_of(c.dtype);
    const xentcheck::tolerance_model model(scale);
    // The model of the reference checks when the dtype has double's unit roundoff: the
    // tolerances computed there are this model's.
    const bool same_model = scale.unit_roundoff == scale_.unit_roundoff;
    const model_tolerances t = same_model ? reference_tolerances_
                                          : model_tolerances{model.probs(), model.probs_row_sum(),
                                                             model.loss(), model.grad_row_sum()};
    const std::size_t classes = c.classes;
    const auto renamed = [this](const char* name) {
        result_.checks[used_checks_ - 1].result.name.assign(name);
    };
    if (e.has_probs) {
        xentcheck::compare_values(next_check().result, "expect.probs", result_.probs, e.probs,
                                  classes, c.tolerance.value_or(t.probs));
        on_defined_rows(e.probs, classes,
                        [&](xentcheck::check_result& out, std::span<const double> v) {
                            if (c.tolerance) {
                                out = detail::unit_interval_within("", v, classes, *c.tolerance);
                            } else {
                                xentcheck::check_probs_in_unit_interval(out, v, classes, t.probs);
                            }
                        });
        renamed("expect.probs_in_unit_interval");
        on_defined_rows(e.probs, classes,
                        [&](xentcheck::check_result& out, std::span<const double> v) {
                            if (c.tolerance) {
                                out = detail::row_sums_within("", v, classes, 1.0, *c.tolerance);
                            } else {
                                xentcheck::check_probs_sum_to_one(out, v, classes, t.probs_row_sum);
                            }
                        });
        renamed("expect.probs_sum_to_one");
    }
    if (e.has_loss) {
        xentcheck::compare_values(next_check().result, "expect.loss", result_.loss, e.loss, 1,
                                  c.tolerance.value_or(t.loss));
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
        xentcheck::compare_values(next_check().result, "expect.grad", result_.grad, e.grad, classes,
                                  c.tolerance.value_or(model.grad()), magnitudes);
        on_defined_rows(
            e.grad, classes, [&](xentcheck::check_result& out, std::span<const double> v) {
                if (c.tolerance) {
                    out = detail::row_sums_within("", v, classes, 0.0, *c.tolerance);
                } else {
                    xentcheck::check_grad_rows_sum_to_zero(out, v, classes, t.grad_row_sum);
                }
            });
        renamed("expect.grad_rows_sum_to_zero");
    }
}

const evaluation& evaluator::evaluate(const eval_case& c) {
    used_checks_ = 0;
    run_reference(c);
    run_reference_checks(c);
    run_expect_checks(c);
    // Entries an earlier case filled beyond this case's are set aside, storage and all.
    while (result_.checks.size() > used_checks_) {
        spare_checks_.push_back(std::move(result_.checks.back()));
        result_.checks.pop_back();
    }
    return result_;
}

}  // namespace xentcheck::cli
