/// The tolerance model: every bound the checks use, derived in one place.
#include "xentcheck/tolerance.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "row_kernel.h"

namespace xentcheck {

namespace detail {
namespace {
/// The term sizes of a batch's rows, T_ij = |w_j| ((1 - eps) |y_ij| + eps / C) (y one-hot for
/// an index target, T = 0 in an ignored row). They bound |a_ij| and the rounding of a_ij
/// (~2u T_ij) even where a negative y_ij or w_j makes a_ij or A_i cancel. A row's sum is taken
/// in class order: every row's T, and its sum, are the values of the one-loop form
/// (sizes[j] = w * ((1 - eps) * y + eps / C), total += sizes[j]) bit for bit.
class term_sizes {
  public:
    term_sizes(std::size_t classes, const target_view& target, const cross_entropy_options& options)
        : classes_(classes),
          target_(target),
          options_(options),
          eps_(options.label_smoothing),
          c_(static_cast<double>(classes)),
          index_form_(target.form() == target_view::kind::index) {
        if (!index_form_) {
            data_ = room(classes);  // a probability row's sizes, row after row
            return;
        }
        // An index-target row's sizes are these but at its target: (1 - eps) * 0 is +0. After
        // them, a row's total by its target class, -1 until computed (a total is >= 0, or NaN,
        // which is then computed each time).
        data_ = room(2 * classes);
        for (std::size_t j = 0; j < classes; ++j)
            data_[j] = abs_weight(j) * ((1 - eps_) * 0.0 + eps_ / c_);
        std::fill(data_ + classes, data_ + 2 * classes, -1.0);
    }
    term_sizes(const term_sizes&) = delete;
    term_sizes& operator=(const term_sizes&) = delete;

    /// Whether row i is an ignored index-target row (all its sizes 0).
    bool ignored(std::size_t i) const {
        return index_form_ && target_.class_indices()[i] == options_.ignore_index;
    }

    /// sum_j T_ij (for index targets computed once per target class).
    double total(std::size_t i) {
        if (ignored(i)) return 0;
        if (!index_form_) return probability_row(i);
        const auto t = static_cast<std::size_t>(target_.class_indices()[i]);
        double& known = data_[classes_ + t];
        if (!(known >= 0)) {
            double total = 0;
            const double on_target = target_size(t);
            for (std::size_t j = 0; j < classes_; ++j)
                total += j == t ? on_target : data_[j];
            known = total;
        }
        return known;
    }

    /// out_j = scale (sum_k T_ik |p_j| + T_ij) for row i, j < C.
    void magnitudes(std::size_t i, double scale, const double* probs, double* out) {
        const double row_total = total(i);
        if (ignored(i)) {
            for (std::size_t j = 0; j < classes_; ++j)
                out[j] = scale * (row_total * std::abs(probs[j]) + 0.0);
            return;
        }
        // Index targets: the off-target sizes; probability targets: row i's, just computed.
        for (std::size_t j = 0; j < classes_; ++j)
            out[j] = scale * (row_total * std::abs(probs[j]) + data_[j]);
        if (index_form_) {
            const auto t = static_cast<std::size_t>(target_.class_indices()[i]);
            out[t] = scale * (row_total * std::abs(probs[t]) + target_size(t));
        }
    }

  private:
    /// Room for n doubles: in the object up to inline_room (eval's and check's usual class
    /// counts: three vectors allocated per construction were a tenth of eval's allocations),
    /// else on the heap.
    double* room(std::size_t n) {
        if (n <= inline_room) return inline_;
        heap_.resize(n);
        return heap_.data();
    }
    double abs_weight(std::size_t j) const {
        return options_.weight.empty() ? 1.0 : std::abs(options_.weight[j]);
    }
    double target_size(std::size_t t) const {
        return abs_weight(t) * ((1 - eps_) * 1.0 + eps_ / c_);
    }
    /// A probability-target row: its sizes into the buffer (kept for magnitudes()), their sum.
    double probability_row(std::size_t i) {
        const double* y = target_.probs().data() + i * classes_;
        for (std::size_t j = 0; j < classes_; ++j)
            data_[j] = abs_weight(j) * ((1 - eps_) * std::abs(y[j]) + eps_ / c_);
        double total = 0;
        for (std::size_t j = 0; j < classes_; ++j)
            total += data_[j];
        return total;
    }

    static constexpr std::size_t inline_room = 64;
    std::size_t classes_;
    const target_view& target_;
    const cross_entropy_options& options_;
    double eps_, c_;
    bool index_form_;
    double inline_[inline_room];  // written before read (room() hands out what is set next)
    std::vector<double> heap_;
    double* data_ = nullptr;  // index targets: C off-target sizes, then C row totals by target
                              // class; probability targets: the last row's C sizes
};
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

namespace {
/// 1 / |mean divisor| for reduction mean, else 1: the factor by which a row's term sizes scale
/// into the loss and gradient. With a zero divisor (every row ignored) the loss and gradient
/// are exactly zero or non-finite, and neither needs a magnitude: 1 then. Validates.
double reduction_scale(batch_shape shape, const target_view& target,
                       const cross_entropy_options& options) {
    const double divisor = mean_divisor(shape, target, options);
    return options.reduction == reduction::mean && divisor != 0 ? 1.0 / std::abs(divisor) : 1.0;
}
}  // namespace

problem_scale measure_problem(double unit_roundoff, std::span<const double> logits,
                              std::size_t classes, const target_view& target,
                              const cross_entropy_options& options) {
    const batch_shape shape = make_shape(logits.size(), classes);
    const double mean_scale = reduction_scale(shape, target, options);
    problem_scale s;
    s.unit_roundoff = unit_roundoff;
    s.rows = shape.rows;
    s.classes = classes;
    double max_abs_logit = 0;
    for (const double z : logits) {
        const double a = std::abs(z);  // NaN and inf left out
        max_abs_logit =
            a > max_abs_logit && a <= std::numeric_limits<double>::max() ? a : max_abs_logit;
    }
    s.max_abs_logit = max_abs_logit;
    // The effective target entries w_j ((1 - eps) y_j + eps / C) with their signs: some
    // negative entry means terms of both signs.
    const double eps = options.label_smoothing;
    if (target.form() == target_view::kind::index) {
        for (const double w : options.weight)
            s.mixed_sign_targets |= shape.rows > 0 && w < 0;
    } else {
        bool negative = false;
        const auto y = target.probs();
        const double c = static_cast<double>(classes);
        for (std::size_t i = 0; i < shape.rows; ++i) {
            for (std::size_t j = 0; j < classes; ++j) {
                const double w = options.weight.empty() ? 1.0 : options.weight[j];
                negative |= w * ((1 - eps) * y[i * classes + j] + eps / c) < 0;
            }
        }
        s.mixed_sign_targets = negative;
    }
    // sum_j T_j with the term sizes T_j = |w_j| ((1 - eps) |y_j| + eps / C): equal to A_i
    // unless a probability target or a weight is negative, where A_i and a_ij carry rounding
    // errors relative to these terms even when they cancel.
    detail::term_sizes sizes(classes, target, options);
    double total = 0, largest = 0;
    for (std::size_t i = 0; i < shape.rows; ++i) {
        const double m = sizes.total(i);
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
    const double scale = reduction_scale(shape, target, options);  // as measure_problem's
    detail::term_sizes sizes(classes, target, options);
    std::vector<double> out(shape.size());
    for (std::size_t i = 0; i < shape.rows; ++i)
        sizes.magnitudes(i, scale, probs.data() + i * classes, out.data() + i * classes);
    return out;
}

double tolerance_model::logit_range_of(const problem_scale& scale) noexcept {
    return 2 * scale.max_abs_logit + std::log(static_cast<double>(scale.classes)) + 1;
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
