/// The tolerance model: every bound the checks use, derived in one place.
#include "xentcheck/tolerance.h"

#include <algorithm>
#include <cmath>

#include "row_kernel.h"

namespace xentcheck {

namespace detail {
namespace {
/// The term sizes of row i, T_j = |w_j| ((1 - eps) |y_j| + eps / C) (y one-hot for an index
/// target, 0 for an ignored row), into `sizes`; returns sum_j T_j. They bound |a_ij| and the
/// rounding of a_ij (~2u T_j) even where a negative y_j or w_j makes a_ij or A_i cancel.
double term_sizes(std::size_t i, std::size_t classes, const target_view& target,
                  const cross_entropy_options& options, std::span<double> sizes) {
    const double eps = options.label_smoothing;
    const double c = static_cast<double>(classes);
    const bool index_form = target.form() == target_view::kind::index;
    const std::int64_t t = index_form ? target.class_indices()[i] : 0;
    const bool ignored = index_form && t == options.ignore_index;
    double total = 0;
    for (std::size_t j = 0; j < classes; ++j) {
        if (ignored) {
            sizes[j] = 0;
            continue;
        }
        const double w = options.weight.empty() ? 1.0 : std::abs(options.weight[j]);
        const double y = index_form ? (static_cast<std::size_t>(t) == j ? 1.0 : 0.0)
                                    : std::abs(target.probs()[i * classes + j]);
        sizes[j] = w * ((1 - eps) * y + eps / c);
        total += sizes[j];
    }
    return total;
}
}  // namespace
}  // namespace detail

bool tolerance::accepts(double expected, double actual) const noexcept {
    return accepts(expected, actual, std::abs(expected));
}

bool tolerance::accepts(double expected, double actual, double magnitude) const noexcept {
    if (actual == expected) return true;  // whatever the bound (even NaN from a NaN magnitude)
    if (std::isnan(expected)) return std::isnan(actual);
    if (std::isinf(expected)) return actual == expected;
    if (!std::isfinite(actual)) return false;
    return std::abs(actual - expected) <= bound(magnitude);
}

problem_scale measure_problem(double unit_roundoff, std::span<const double> logits,
                              std::size_t classes, const target_view& target,
                              const cross_entropy_options& options) {
    const batch_shape shape = make_shape(logits.size(), classes);
    const target_mass masses = effective_target_mass(shape, target, options);
    problem_scale s;
    s.unit_roundoff = unit_roundoff;
    s.rows = shape.rows;
    s.classes = classes;
    for (const double z : logits) {
        if (std::isfinite(z)) s.max_abs_logit = std::max(s.max_abs_logit, std::abs(z));
    }
    // sum_j T_j with the term sizes T_j = |w_j| ((1 - eps) |y_j| + eps / C): equal to A_i
    // unless a probability target or a weight is negative, where A_i and a_ij carry rounding
    // errors relative to these terms even when they cancel.
    std::vector<double> abs_mass(shape.rows, 0.0);
    std::vector<double> sizes(classes);
    for (std::size_t i = 0; i < shape.rows; ++i) {
        abs_mass[i] = detail::term_sizes(i, classes, target, options, sizes);
        if (target.form() == target_view::kind::index) {
            for (const double w : options.weight)
                s.mixed_sign_targets |= w < 0;
            continue;
        }
        const double eps = options.label_smoothing;
        for (std::size_t j = 0; j < classes; ++j) {
            const double w = options.weight.empty() ? 1.0 : options.weight[j];
            s.mixed_sign_targets |=
                w * ((1 - eps) * target.probs()[i * classes + j] + eps / double(classes)) < 0;
        }
    }
    const double mean_scale = options.reduction == reduction::mean && masses.mean_divisor != 0
                                  ? 1.0 / std::abs(masses.mean_divisor)
                                  : 1.0;
    double total = 0, largest = 0;
    for (const double m : abs_mass) {
        total += m;
        largest = std::max(largest, m);
    }
    // For reduction none each row is its own loss: its scale is at most the largest row's.
    s.loss_scale = options.reduction == reduction::none ? largest : total * mean_scale;
    s.grad_scale = largest * mean_scale;
    if (!std::isfinite(s.loss_scale)) s.loss_scale = 0;
    if (!std::isfinite(s.grad_scale)) s.grad_scale = 0;
    return s;
}

std::vector<double> grad_magnitudes(std::span<const double> probs, std::size_t classes,
                                    const target_view& target,
                                    const cross_entropy_options& options) {
    const batch_shape shape = make_shape(probs.size(), classes);
    const target_mass masses = effective_target_mass(shape, target, options);
    // Same scale as measure_problem: with a zero divisor (every row ignored) the gradient is
    // exactly zero or non-finite, and neither needs a magnitude.
    const double scale = options.reduction == reduction::mean && masses.mean_divisor != 0
                             ? 1.0 / std::abs(masses.mean_divisor)
                             : 1.0;
    std::vector<double> sizes(classes);
    std::vector<double> out(shape.size());
    for (std::size_t i = 0; i < shape.rows; ++i) {
        const double total = detail::term_sizes(i, classes, target, options, sizes);
        for (std::size_t j = 0; j < classes; ++j)
            out[i * classes + j] = scale * (total * std::abs(probs[i * classes + j]) + sizes[j]);
    }
    return out;
}

double tolerance_model::logit_range() const noexcept {
    return 2 * scale_.max_abs_logit + std::log(static_cast<double>(scale_.classes)) + 1;
}

tolerance tolerance_model::probs() const noexcept {
    const double u = scale_.unit_roundoff;
    const double c = static_cast<double>(scale_.classes);
    return tolerance{safety * u * u, safety * u * (logit_range() + c + 2)};
}

tolerance tolerance_model::loss() const noexcept {
    const double u = scale_.unit_roundoff;
    const double c = static_cast<double>(scale_.classes);
    const double n = static_cast<double>(scale_.rows);
    // Each term a_j (lse - z_j) carries the rounding of lse - z_j (<= R u) and of log S, whose
    // argument S is a sum of C terms (relative error <= (C - 1) u, hence absolute error of
    // log S <= (C - 1) u even when the loss itself is tiny). Terms of mixed sign may cancel: the
    // summation error is then relative to sum |terms| (<= R * loss_scale), not to |L|.
    const double mixed = scale_.mixed_sign_targets ? (c + n) : 0;
    return tolerance{
        safety * u * (logit_range() + c + 2 + mixed * logit_range()) * scale_.loss_scale,
        safety * u * (c + n + 2)};
}

tolerance tolerance_model::grad() const noexcept {
    const double u = scale_.unit_roundoff;
    const double c = static_cast<double>(scale_.classes);
    const double n = static_cast<double>(scale_.rows);
    return tolerance{safety * u * u * scale_.grad_scale, safety * u * (logit_range() + c + n + 4)};
}

tolerance tolerance_model::probs_row_sum() const noexcept {
    const tolerance p = probs();
    return tolerance{p.rtol + static_cast<double>(scale_.classes) * p.atol, 0};
}

tolerance tolerance_model::grad_row_sum() const noexcept {
    const tolerance g = grad();
    return tolerance{2 * g.rtol * scale_.grad_scale + static_cast<double>(scale_.classes) * g.atol,
                     0};
}

central_difference_plan plan_central_difference(double loss_error, double third_bound) noexcept {
    // error(h) = third_bound h^2 / 6 + loss_error / h, minimal at h = cbrt(3 loss_error / third).
    const double e = std::max(loss_error, 1e-300);
    const double t = std::max(third_bound, 1e-300);
    const double h = std::cbrt(3 * e / t);
    return central_difference_plan{h, tolerance_model::safety * (t * h * h / 6 + e / h)};
}

}  // namespace xentcheck
