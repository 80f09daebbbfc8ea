/// The grad_matches_finite_difference check over (a sample of) the defined rows of a case.
#include "finite_difference_rows.h"

#include <algorithm>
#include <cmath>

#include "xentcheck/checks.h"
#include "xentcheck/cross_entropy.h"
#include "xentcheck/tolerance.h"

namespace xentcheck::cli::detail {

namespace {

check_entry skipped(std::string reason) {
    check_entry e;
    e.result.name = "grad_matches_finite_difference";
    e.skipped = true;
    e.skip_reason = std::move(reason);
    return e;
}

}  // namespace

check_entry check_grad_by_finite_differences(const eval_case& c, std::span<const double> grad,
                                             std::span<const std::size_t> defined_rows,
                                             finite_difference_scratch& s) {
    const std::size_t classes = c.classes;
    if (defined_rows.empty()) {
        return skipped("no row has a defined loss (each has a NaN or +inf logit, or only -inf)");
    }
    const bool index_form = c.target_kind == xentcheck::target_view::kind::index;
    const std::size_t wanted =
        std::min(defined_rows.size(), std::max<std::size_t>(1, max_differenced_values / classes));
    s.rows.clear();
    s.logits.clear();
    s.grad.clear();
    s.target_indices.clear();
    s.target_probs.clear();
    for (std::size_t k = 0; k < wanted; ++k) {
        const std::size_t i = defined_rows[k * defined_rows.size() / wanted];
        s.rows.push_back(i);
        const std::size_t begin = i * classes;
        s.logits.insert(s.logits.end(), c.logits.begin() + begin,
                        c.logits.begin() + begin + classes);
        s.grad.insert(s.grad.end(), grad.begin() + begin, grad.begin() + begin + classes);
        if (index_form) {
            s.target_indices.push_back(c.target_indices[i]);
        } else {
            s.target_probs.insert(s.target_probs.end(), c.target_probs.begin() + begin,
                                  c.target_probs.begin() + begin + classes);
        }
    }
    const auto target = index_form ? xentcheck::target_view::indices(s.target_indices)
                                   : xentcheck::target_view::probabilities(s.target_probs);
    xentcheck::cross_entropy_options summed = c.options();
    summed.reduction = xentcheck::reduction::sum;
    // The mean's divisor belongs to the whole batch, not to the rows differenced.
    long double scale = 1;
    if (c.reduction == xentcheck::reduction::mean) {
        const auto shape = xentcheck::batch_shape{c.rows, classes};
        scale =
            1.0L / xentcheck::effective_target_mass(shape, c.target(), c.options()).mean_divisor;
    }
    const xentcheck::scalar_function loss = [&](std::span<const long double> z) -> long double {
        return scale * xentcheck::cross_entropy_loss<long double>(z, classes, target, summed);
    };
    s.wide_logits.assign(s.logits.begin(), s.logits.end());
    const long double value = loss(s.wide_logits);
    if (!std::isfinite(value) || !std::isfinite(scale)) {
        return skipped("the loss is not finite, so it has no derivative to difference");
    }
    const xentcheck::tolerance_model model(xentcheck::measure_problem(
        xentcheck::unit_roundoff<long double>(), s.logits, classes, target, summed));
    const double abs_scale = std::abs(static_cast<double>(scale));
    const double summed_loss = std::abs(static_cast<double>(value)) / abs_scale;
    const double loss_error = abs_scale * model.loss().bound(summed_loss);
    const double grad_scale = abs_scale * model.scale().grad_scale;
    const double third_bound = grad_scale / (6 * std::sqrt(3.0));
    xentcheck::tolerance grad_tol = model.grad();
    grad_tol.atol *= abs_scale;
    const auto coordinates = static_cast<std::size_t>(
        std::max(8.0, finite_difference_budget / (2.0 * static_cast<double>(s.logits.size()))));
    check_entry entry;
    entry.result =
        xentcheck::check_grad_finite_difference(loss, s.logits, classes, s.grad, loss_error,
                                                third_bound, grad_tol, grad_scale, coordinates);
    if (entry.result.worst) entry.result.worst->row = s.rows[entry.result.worst->row];
    for (auto& f : entry.result.findings)
        f.where.row = s.rows[f.where.row];
    return entry;
}

}  // namespace xentcheck::cli::detail
