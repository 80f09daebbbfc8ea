/// Error measures against the oracle and the reference's documented bounds (see error.h).
#include "xentcheck/oracle/error.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>

#include "xentcheck/softmax.h"
#include "xentcheck/tolerance.h"

namespace xentcheck::oracle {

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();
constexpr double nan = std::numeric_limits<double>::quiet_NaN();

/// 0 / +inf for non-finite pairs (see ulp_error), or -1 when both are finite.
double nonfinite_error(double computed, double truth) {
    if (std::isnan(truth)) return std::isnan(computed) ? 0 : inf;
    if (std::isinf(truth)) return computed == truth ? 0 : inf;
    if (!std::isfinite(computed)) return inf;
    return -1;
}

/// |computed - true| with true = nearest + residual; computed - nearest is exact in long double
/// whenever the two are within a factor 2^11, and otherwise far beyond any bound anyway.
long double abs_difference(double computed, const value& truth) {
    const long double d = static_cast<long double>(computed) - truth.nearest;
    return std::abs(d - truth.residual);
}

/// Whether the double subtraction a - b is exact (TwoSum's error term is zero).
bool exact_difference(double a, double b) {
    const double s = a - b;
    const double bb = s - a;
    return (a - (s - bb)) + (-b - bb) == 0;
}

/// d / denominator in long double, capped at DBL_MAX so that a finite error never reads as a
/// non-finite disagreement.
double ratio(long double d, long double denominator) {
    return static_cast<double>(
        std::min(d / denominator, static_cast<long double>(std::numeric_limits<double>::max())));
}

double weight(const cross_entropy_options& o, std::size_t j) {
    return o.weight.empty() ? 1.0 : o.weight[j];
}

/// The size of the terms of the effective target a_ij = w_j ((1 - eps) y_ij + eps/C): the
/// scale of its rounding error, which |a_ij| understates when a negative y_ij nearly cancels
/// eps/C. For index targets y is one-hot (0 for an ignored row).
double target_term_size(const target_view& target, const cross_entropy_options& o,
                        std::size_t classes, std::size_t i, std::size_t j) {
    const double eps = o.label_smoothing;
    const double w = std::abs(weight(o, j));
    double y = 0;
    if (target.form() == target_view::kind::index) {
        const std::int64_t t = target.class_indices()[i];
        if (t == o.ignore_index) return 0;
        y = static_cast<std::size_t>(t) == j ? 1 : 0;
    } else {
        y = std::abs(target.probs()[i * classes + j]);
    }
    return w * (eps > 0 ? (1 - eps) * y + eps / static_cast<double>(classes) : y);
}

}  // namespace

double ulp(double x) {
    if (!std::isfinite(x)) return nan;
    const double a = std::abs(x);
    if (a < std::numeric_limits<double>::min()) return std::ldexp(1.0, -1074);
    int e = 0;
    std::frexp(a, &e);  // a in [2^(e-1), 2^e)
    return std::ldexp(1.0, e - 53);
}

long double ulp(long double x) {
    if (!std::isfinite(x)) return nan;
    const long double a = std::abs(x);
    if (a < std::numeric_limits<long double>::min()) return std::ldexp(1.0L, -16445);
    int e = 0;
    std::frexp(a, &e);
    return std::ldexp(1.0L, e - 64);
}

double ulp_error(double computed, const value& truth) {
    const double special = nonfinite_error(computed, truth.nearest);
    if (special >= 0) return special;
    return ratio(abs_difference(computed, truth), ulp(truth.nearest));
}

double ulp_error(long double computed, const value& truth) {
    if (std::isnan(truth.nearest_ld)) return std::isnan(computed) ? 0 : inf;
    if (std::isinf(truth.nearest_ld)) return computed == truth.nearest_ld ? 0 : inf;
    if (!std::isfinite(computed)) return inf;
    const long double d = std::abs((computed - truth.nearest_ld) - truth.residual_ld);
    return ratio(d, ulp(truth.nearest_ld));
}

double magnitude_error(double computed, const value& truth, double magnitude) {
    const double special = nonfinite_error(computed, truth.nearest);
    if (special >= 0) return special;
    // A magnitude rounded to double may underflow below the value itself: never use less.
    const double m = std::isfinite(magnitude) ? std::max(magnitude, std::abs(truth.nearest))
                                              : std::abs(truth.nearest);
    return ratio(abs_difference(computed, truth), ulp(m));
}

double magnitude_error(long double computed, const value& truth, double magnitude) {
    if (std::isnan(truth.nearest_ld)) return std::isnan(computed) ? 0 : inf;
    if (std::isinf(truth.nearest_ld)) return computed == truth.nearest_ld ? 0 : inf;
    if (!std::isfinite(computed)) return inf;
    const long double d = std::abs((computed - truth.nearest_ld) - truth.residual_ld);
    const long double a = std::abs(truth.nearest_ld);
    const long double m = std::isfinite(magnitude) ? std::max<long double>(magnitude, a) : a;
    return ratio(d, ulp(m));
}

std::vector<double> loss_magnitudes(std::span<const double> logits, std::size_t classes,
                                    const target_view& target,
                                    const cross_entropy_options& options) {
    const batch_shape shape = make_shape(logits.size(), classes);
    const target_mass masses = effective_target_mass(shape, target, options);
    const bool index_form = target.form() == target_view::kind::index;
    const double eps = options.label_smoothing;
    const double c = static_cast<double>(classes);
    std::vector<double> rows(shape.rows, 0.0);
    for (std::size_t i = 0; i < shape.rows; ++i) {
        const auto z = logits.subspan(i * classes, classes);
        const std::int64_t t = index_form ? target.class_indices()[i] : 0;
        if (index_form && t == options.ignore_index) continue;
        const double lse = logsumexp<double>(z);
        if (std::isnan(lse)) {
            rows[i] = nan;
            continue;
        }
        // |a_j|'s term size times ((lse - z_j) + 1), for finite z_j, in PyTorch's form.
        auto term = [&](std::size_t j, double size) {
            return std::isfinite(z[j]) ? size * ((lse - z[j]) + 1) : 0.0;
        };
        double m = 0;
        if (index_form) {
            const auto tu = static_cast<std::size_t>(t);
            m = term(tu, (1 - eps) * std::abs(weight(options, tu)));
            if (eps > 0) {
                for (std::size_t j = 0; j < classes; ++j)
                    m += term(j, eps / c * std::abs(weight(options, j)));
            }
        } else {
            for (std::size_t j = 0; j < classes; ++j)
                m += term(j, target_term_size(target, options, classes, i, j));
        }
        rows[i] = m;
    }
    if (options.reduction == reduction::none) return rows;
    double total = 0;
    for (const double r : rows)
        total += r;
    if (options.reduction == reduction::mean) total /= std::abs(masses.mean_divisor);
    return {total};
}

std::vector<std::string> known_reference_differences(std::span<const double> logits,
                                                     std::size_t classes, const target_view& target,
                                                     const cross_entropy_options& options) {
    const batch_shape shape = make_shape(logits.size(), classes);
    const target_mass masses = effective_target_mass(shape, target, options);
    std::vector<std::string> out;
    if (target.form() == target_view::kind::index) {
        for (std::size_t i = 0; i < shape.rows; ++i) {
            if (target.class_indices()[i] != options.ignore_index) continue;
            const auto z = logits.subspan(i * classes, classes);
            const bool some_nan_or_inf = std::any_of(z.begin(), z.end(), [](double v) {
                return std::isnan(v) || v == std::numeric_limits<double>::infinity();
            });
            const bool all_minus_inf =
                std::all_of(z.begin(), z.end(), [](double v) { return v == -inf; });
            if (some_nan_or_inf || all_minus_inf) {
                out.push_back("row " + std::to_string(i) +
                              " is ignored and undefined: PyTorch's gradient there is NaN, the "
                              "reference's 0");
            }
        }
    }
    if (options.reduction == reduction::mean && masses.mean_divisor == 0) {
        out.emplace_back(
            "the mean's divisor is 0: PyTorch gives NaN loss and gradient, the reference +-inf "
            "or NaN");
    }
    return out;
}

reference_bounds bounds_for(std::span<const double> logits, std::size_t classes,
                            const target_view& target, const cross_entropy_options& options,
                            const oracle_result& truth) {
    const batch_shape shape = make_shape(logits.size(), classes);
    const bool index_form = target.form() == target_view::kind::index;
    const double ln_c = std::log(static_cast<double>(classes));
    reference_bounds b;
    b.grad_magnitude =
        grad_magnitudes(oracle_result::nearest(truth.probs), classes, target, options);
    const target_mass masses = effective_target_mass(shape, target, options);
    const double scale =
        options.reduction == reduction::mean ? 1 / std::abs(masses.mean_divisor) : 1.0;
    b.probs.assign(shape.size(), 0.0);
    b.grad.assign(shape.size(), 0.0);
    b.grad_single.assign(shape.size(), inf);
    std::vector<double> row_shift(shape.rows, 0.0);  // max_j D_j per row
    // The reference's sum_k w_k is a plain recursive sum: up to (C - 1) u relative in A.
    const double plain_weight_sum =
        index_form && options.label_smoothing > 0 && !options.weight.empty()
            ? static_cast<double>(classes - 1)
            : 0.0;
    std::vector<double> shift(classes);
    for (std::size_t i = 0; i < shape.rows; ++i) {
        const auto z = logits.subspan(i * classes, classes);
        double m = -inf;
        for (const double v : z)
            if (std::isfinite(v)) m = std::max(m, v);
        for (std::size_t j = 0; j < classes; ++j) {
            const bool exact = !std::isfinite(z[j]) || m == -inf || exact_difference(z[j], m);
            shift[j] = exact ? 0.0 : std::abs(z[j] - m);
            row_shift[i] = std::max(row_shift[i], shift[j]);
            b.probs[i * classes + j] = 8 + ln_c + shift[j];
        }
        // Rounding of a_j and of A = sum_k a_k adds 2u (T_j + p_j sum_k T_k) s, T the target
        // term sizes: more than |a_j| and A when mixed-sign targets cancel.
        double total_terms = 0;
        for (std::size_t j = 0; j < classes; ++j)
            total_terms += target_term_size(target, options, classes, i, j);
        for (std::size_t j = 0; j < classes; ++j) {
            const std::size_t k = i * classes + j;
            const double p = truth.probs[k].nearest;
            const double terms =
                scale * (target_term_size(target, options, classes, i, j) + p * total_terms);
            const double magnitude = b.grad_magnitude[k];
            const double target_part = magnitude > 0 ? 4 * terms / magnitude : 0;
            b.grad[k] = 12 + ln_c + row_shift[i] + target_part + plain_weight_sum;
        }
        const std::int64_t t = index_form ? target.class_indices()[i] : -1;
        if (!index_form || t == options.ignore_index || options.label_smoothing > 0) continue;
        double others = 0;
        for (std::size_t j = 0; j < classes; ++j)
            if (j != static_cast<std::size_t>(t)) others = std::max(others, shift[j]);
        for (std::size_t j = 0; j < classes; ++j) {
            b.grad_single[i * classes + j] =
                12 + ln_c + (j == static_cast<std::size_t>(t) ? others : shift[j]);
        }
    }
    b.loss_magnitude = loss_magnitudes(logits, classes, target, options);
    b.loss.assign(b.loss_magnitude.size(), 0.0);
    const double all_rows = *std::max_element(row_shift.begin(), row_shift.end());
    for (std::size_t k = 0; k < b.loss.size(); ++k) {
        b.loss[k] = 8 + 2 * ln_c + (options.reduction == reduction::none ? row_shift[k] : all_rows);
    }
    return b;
}

std::string bound_violation::to_string() const {
    static constexpr const char* names[] = {"probs", "loss", "grad"};
    std::ostringstream s;
    s.precision(17);
    s << names[static_cast<int>(which)] << "[" << index << "]: " << computed << " vs oracle "
      << truth << ": " << error << " " << measure << " > bound " << bound;
    return s.str();
}

std::vector<bound_violation> check_against_bounds(std::span<const double> probs,
                                                  std::span<const double> loss,
                                                  std::span<const double> grad,
                                                  const oracle_result& truth,
                                                  const reference_bounds& bounds) {
    std::vector<bound_violation> out;
    auto note = [&](output which, std::size_t k, double computed, const value& v, double error,
                    double bound, const char* measure) {
        if (error <= bound) return;
        out.push_back(bound_violation{which, k, computed, v.nearest, error, bound, measure});
    };
    for (std::size_t k = 0; k < probs.size() && k < truth.probs.size(); ++k) {
        note(output::probs, k, probs[k], truth.probs[k], ulp_error(probs[k], truth.probs[k]),
             bounds.probs[k], "ulp");
    }
    for (std::size_t k = 0; k < loss.size() && k < truth.loss.size(); ++k) {
        note(output::loss, k, loss[k], truth.loss[k],
             magnitude_error(loss[k], truth.loss[k], bounds.loss_magnitude[k]), bounds.loss[k],
             "magnitude ulp");
    }
    for (std::size_t k = 0; k < grad.size() && k < truth.grad.size(); ++k) {
        note(output::grad, k, grad[k], truth.grad[k],
             magnitude_error(grad[k], truth.grad[k], bounds.grad_magnitude[k]), bounds.grad[k],
             "magnitude ulp");
        if (std::isfinite(bounds.grad_single[k])) {
            note(output::grad, k, grad[k], truth.grad[k], ulp_error(grad[k], truth.grad[k]),
                 bounds.grad_single[k], "ulp (single-term grad)");
        }
    }
    if (probs.size() != truth.probs.size() || loss.size() != truth.loss.size() ||
        grad.size() != truth.grad.size()) {
        out.push_back(bound_violation{output::probs, 0, nan, nan, inf, 0, "size mismatch"});
    }
    return out;
}

}  // namespace xentcheck::oracle
