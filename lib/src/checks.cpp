/// Invariant and agreement checks returning structured findings.
#include "xentcheck/checks.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>

#include "vector_kernels.h"

namespace xentcheck {

std::string location::to_string() const {
    std::string s = "row " + std::to_string(row);
    if (column) s += ", class " + std::to_string(*column);
    return s;
}

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

/// Accumulates the outcome of one check value by value, into a result whose storage is reused.
class check_builder {
  public:
    check_builder(check_result& out, std::string_view name, tolerance used, std::size_t columns)
        : r_(out), columns_(columns) {
        // Every member as a fresh check_result has it, keeping the strings' and the findings'
        // storage.
        r_.name.assign(name);
        r_.passed = true;
        r_.checked = 0;
        r_.violations = 0;
        r_.max_abs_error = 0;
        r_.max_rel_error = 0;
        r_.worst_ratio = 0;
        r_.used = used;
        r_.worst.reset();
        r_.findings.clear();
        r_.inconclusive = 0;
        r_.inconclusive_reason.clear();
    }

    /// Records one value; `ok` is the verdict, `allowed` the bound it was held to.
    void record(std::size_t index, double expected, double actual, double allowed, bool ok) {
        ++r_.checked;
        const bool both_nan = std::isnan(expected) && std::isnan(actual);
        const double abs_error = both_nan || expected == actual ? 0.0
                                 : std::isfinite(expected) && std::isfinite(actual)
                                     ? std::abs(actual - expected)
                                     : inf;
        const double rel_error =
            abs_error == 0 ? 0.0 : (expected != 0 ? abs_error / std::abs(expected) : inf);
        r_.max_abs_error = std::max(r_.max_abs_error, abs_error);
        r_.max_rel_error = std::max(r_.max_rel_error, rel_error);
        const double ratio = abs_error == 0 ? 0.0 : allowed > 0 ? abs_error / allowed : inf;
        r_.worst_ratio = std::max(r_.worst_ratio, ok ? ratio : std::max(ratio, 1.0));
        // A NaN bound (NaN magnitude) must not win or block the comparison below.
        double severity = ok ? abs_error / std::max(allowed, 1e-300) : inf;
        if (std::isnan(severity)) severity = 0;
        if (!r_.worst || severity > worst_severity_) {
            worst_severity_ = severity;
            r_.worst = where(index);
        }
        if (ok) return;
        r_.passed = false;
        ++r_.violations;
        if (r_.findings.size() < check_result::max_findings) {
            r_.findings.push_back(
                finding{where(index), expected, actual, abs_error, rel_error, allowed});
        }
    }

    /// Records a value that could be judged neither way, and why (the first reason is kept).
    void inconclusive(std::size_t index, const std::string& why) {
        if (r_.inconclusive++ == 0) r_.inconclusive_reason = where(index).to_string() + ": " + why;
    }

    /// Records values [first, first + count) of compare_values (magnitude |expected| when
    /// `magnitude` is null) in one tight loop, as record() would, when every one of them is an
    /// ordinary pass: expected and actual finite, within a bound that is finite and at least
    /// 1e-300 (where record()'s ratio and severity coincide). Returns false, having recorded
    /// nothing, when any value is not: the caller then records the block value by value.
    bool record_ordinary_block(std::size_t first, const double* expected, const double* actual,
                               const double* magnitude, tolerance tol, std::size_t count) {
        // record()'s severity is the ratio here; the worst value is the first that reaches the
        // largest one, as record()'s strict comparison keeps it.
        const detail::compare_block_maxima m = detail::compare_block_scan(
            expected, actual, magnitude, tol.atol, tol.rtol, count,
            r_.worst ? worst_severity_ : -std::numeric_limits<double>::infinity());
        if (!m.ordinary || count == 0) return m.ordinary;
        const bool new_worst = !r_.worst || m.max_ratio > worst_severity_;
        // Not found only if the two passes evaluated the bound differently (a contracted
        // multiply-add in one): record the block value by value then.
        if (new_worst && m.first_worst >= count) return false;
        record_block(first, count, m.max_abs, m.max_rel, m.max_ratio,
                     new_worst ? std::optional(m.first_worst) : std::nullopt);
        return true;
    }

    check_result& result() { return r_; }

  private:
    /// Records a block of ordinary passes from its maxima; `worst`: the block's first entry of
    /// the largest ratio, when that ratio is the result's new worst.
    void record_block(std::size_t first, std::size_t count, double max_abs, double max_rel,
                      double max_ratio, std::optional<std::size_t> worst) {
        r_.checked += count;
        r_.max_abs_error = std::max(r_.max_abs_error, max_abs);
        r_.max_rel_error = std::max(r_.max_rel_error, max_rel);
        r_.worst_ratio = std::max(r_.worst_ratio, max_ratio);
        if (worst) {
            worst_severity_ = max_ratio;
            r_.worst = where(first + *worst);
        }
    }

    location where(std::size_t index) const {
        return location{index / columns_,
                        columns_ > 1 ? std::optional(index % columns_) : std::nullopt};
    }

    check_result& r_;
    std::size_t columns_;
    double worst_severity_ = -1;
};

/// Values per block of compare_values's fast path: long enough for the tight loop to pay, short
/// enough that a block with a violation costs little twice.
constexpr std::size_t compare_block = 64;

std::size_t rows_of(std::size_t size, std::size_t columns) {
    return columns == 0 ? 0 : size / columns;
}

/// v with three significant digits ("1e+300", "0.0417"), for reasons.
std::string short_number(double v) {
    char text[32];
    const auto end = std::to_chars(text, text + sizeof text, v, std::chars_format::general, 3).ptr;
    return std::string(text, end);
}

}  // namespace

void compare_values(check_result& out, std::string_view name, std::span<const double> reference,
                    std::span<const double> actual, std::size_t columns, tolerance tol,
                    std::span<const double> magnitude) {
    check_builder b(out, name, tol, std::max<std::size_t>(columns, 1));
    const std::size_t n = std::min(reference.size(), actual.size());
    const double* const mags = magnitude.empty() ? nullptr : magnitude.data();
    // Blocks of ordinary passes (nearly every value of a passing check) are recorded in a tight
    // loop; a block holding anything else value by value.
    for (std::size_t first = 0; first < n; first += compare_block) {
        const std::size_t count = std::min(compare_block, n - first);
        if (b.record_ordinary_block(first, reference.data() + first, actual.data() + first,
                                    mags ? mags + first : nullptr, tol, count)) {
            continue;
        }
        for (std::size_t k = first; k < first + count; ++k) {
            const double mag = mags ? mags[k] : std::abs(reference[k]);
            b.record(k, reference[k], actual[k], tol.bound(mag),
                     tol.accepts(reference[k], actual[k], mag));
        }
    }
    if (reference.size() != actual.size()) {
        out.passed = false;
        ++out.violations;
        out.worst_ratio = inf;
        out.findings.push_back(finding{location{rows_of(n, columns), std::nullopt},
                                       static_cast<double>(reference.size()),
                                       static_cast<double>(actual.size()), inf, inf, 0});
    }
}

check_result compare_values(std::string name, std::span<const double> reference,
                            std::span<const double> actual, std::size_t columns, tolerance tol,
                            std::span<const double> magnitude) {
    check_result r;
    compare_values(r, name, reference, actual, columns, tol, magnitude);
    return r;
}

void check_probs_in_unit_interval(check_result& out, std::span<const double> probs,
                                  std::size_t classes, tolerance t) {
    check_builder b(out, "probs_in_unit_interval", t, classes);
    for (std::size_t k = 0; k < probs.size(); ++k) {
        const double p = probs[k];
        const double nearest = std::clamp(p, 0.0, 1.0);
        const double allowed = t.bound(1.0);
        const bool ok = !std::isnan(p) && std::abs(p - nearest) <= allowed;
        b.record(k, std::isnan(p) ? 0.0 : nearest, p, allowed, ok);
    }
}

check_result check_probs_in_unit_interval(std::span<const double> probs, std::size_t classes,
                                          const tolerance_model& model) {
    check_result r;
    check_probs_in_unit_interval(r, probs, classes, model.probs());
    return r;
}

void check_probs_sum_to_one(check_result& out, std::span<const double> probs, std::size_t classes,
                            tolerance t) {
    check_builder b(out, "probs_sum_to_one", t, 1);
    for (std::size_t i = 0; i < rows_of(probs.size(), classes); ++i) {
        double sum = 0;
        for (std::size_t j = 0; j < classes; ++j)
            sum += probs[i * classes + j];
        b.record(i, 1.0, sum, t.bound(1.0), t.accepts(1.0, sum, 1.0));
    }
}

check_result check_probs_sum_to_one(std::span<const double> probs, std::size_t classes,
                                    const tolerance_model& model) {
    check_result r;
    check_probs_sum_to_one(r, probs, classes, model.probs_row_sum());
    return r;
}

void check_grad_rows_sum_to_zero(check_result& out, std::span<const double> grad,
                                 std::size_t classes, tolerance t) {
    check_builder b(out, "grad_rows_sum_to_zero", t, 1);
    for (std::size_t i = 0; i < rows_of(grad.size(), classes); ++i) {
        double sum = 0;
        bool finite = true;
        for (std::size_t j = 0; j < classes; ++j) {
            sum += grad[i * classes + j];
            finite &= std::isfinite(grad[i * classes + j]);
        }
        // A NaN row (undefined input) has no sum to check; non-finite entries elsewhere fail.
        if (!finite && std::isnan(sum)) continue;
        b.record(i, 0.0, sum, t.bound(0.0), t.accepts(0.0, sum, 0.0));
    }
}

check_result check_grad_rows_sum_to_zero(std::span<const double> grad, std::size_t classes,
                                         const tolerance_model& model) {
    check_result r;
    check_grad_rows_sum_to_zero(r, grad, classes, model.grad_row_sum());
    return r;
}

void check_loss_nonnegative(check_result& out, std::span<const double> loss, double floor) {
    check_builder b(out, "loss_nonnegative", tolerance{-floor, 0}, 1);
    for (std::size_t k = 0; k < loss.size(); ++k) {
        if (std::isnan(loss[k])) continue;  // undefined input: nothing to hold it to
        b.record(k, std::max(loss[k], 0.0), loss[k], -floor, loss[k] >= floor);
    }
}

check_result check_loss_nonnegative(std::span<const double> loss, const tolerance_model& model) {
    check_result r;
    check_loss_nonnegative(r, loss, model.loss_floor());
    return r;
}

namespace {

/// central_difference(f, point, j, h) evaluated on `point` itself: x_j moves to x_j + h and
/// x_j - h and is put back, so no copy of the point is made; the same values, the same result.
long double central_difference_in_place(const scalar_function& f, std::span<long double> point,
                                        std::size_t j, long double h) {
    const long double x = point[j];
    // Use the steps the arithmetic really takes, so (x + h) - x rounding does not bias the result.
    const volatile long double up = x + h;
    const volatile long double down = x - h;
    point[j] = up;
    const long double f_up = f(point);
    point[j] = down;
    const long double f_down = f(point);
    point[j] = x;
    return (f_up - f_down) / (up - down);
}

}  // namespace

void check_grad_finite_difference(check_result& out, finite_difference_check_buffers& buffers,
                                  const scalar_function& loss, std::span<const double> x,
                                  std::size_t classes, std::span<const double> grad,
                                  double loss_error, double third_bound, tolerance grad_tol,
                                  double grad_scale, std::size_t max_coordinates) {
    const central_difference_plan plan = plan_central_difference(loss_error, third_bound);
    check_builder b(out, "grad_matches_finite_difference",
                    tolerance{plan.error_bound + grad_tol.atol, grad_tol.rtol}, classes);
    std::vector<long double>& point = buffers.point;
    point.assign(x.begin(), x.end());
    std::vector<std::size_t>& coords = buffers.coordinates;
    coords.clear();
    if (x.size() <= max_coordinates) {
        for (std::size_t k = 0; k < x.size(); ++k)
            coords.push_back(k);
    } else {
        const std::size_t stride = x.size() / max_coordinates + 1;
        for (std::size_t k = 0; k < x.size(); k += stride)
            coords.push_back(k);
        for (std::size_t i = 0; i < rows_of(x.size(), classes); ++i) {
            const auto row = grad.subspan(i * classes, classes);
            const auto it = std::max_element(row.begin(), row.end(), [](double a, double c) {
                return std::abs(a) < std::abs(c);
            });
            coords.push_back(i * classes + static_cast<std::size_t>(it - row.begin()));
        }
    }
    for (const std::size_t k : coords) {
        if (!std::isfinite(x[k]) || !std::isfinite(grad[k])) continue;  // no derivative there
        // Beyond |x_k| = 2^20 the step grows with |x_k|, so x_k +- h stay far apart even for a
        // loss that reads its input in double. Truncation error grows as h^2, so the allowed
        // error is that of the step actually taken (same formula as plan_central_difference).
        const double grow = std::max(1.0, std::abs(x[k]) * 0x1p-20);
        const double h = plan.step * grow;
        const double fd_error =
            grow == 1.0 ? plan.error_bound
                        : tolerance_model::safety * (std::max(third_bound, 1e-300) * h * h / 6 +
                                                     std::max(loss_error, 1e-300) / h);
        const double magnitude = std::max(std::abs(grad[k]), grad_scale);
        const double allowed = fd_error + grad_tol.bound(magnitude);
        // No finite step: near 1e300 the grown step overflows (or x_k + h does), and a loss
        // reading double would be evaluated at +-inf.
        if (!std::isfinite(h) || !std::isfinite(x[k] + h) || !std::isfinite(x[k] - h)) {
            b.inconclusive(k, "x = " + short_number(x[k]) + " leaves no finite step (x +- " +
                                  short_number(h) + " is not a finite double)");
            continue;
        }
        // 2E + a is the smallest error that cannot pass (docs/finite-differences.md, the
        // verdict rule). Where it reaches the gradient's own magnitude, a wrong gradient of
        // that size could pass: the comparison says nothing, and "pass" would claim it did.
        const double resolvable = 2 * fd_error + grad_tol.bound(magnitude);
        if (magnitude > 0 && !(resolvable < magnitude)) {
            b.inconclusive(k,
                           "no step resolves the gradient at x = " + short_number(x[k]) +
                               ": the smallest error sure to fail is " + short_number(resolvable) +
                               " (difference error " + short_number(fd_error) + " at step " +
                               short_number(h) + ", loss error " + short_number(loss_error) +
                               "), not below the gradient's magnitude " + short_number(magnitude));
            continue;
        }
        const double fd = static_cast<double>(central_difference_in_place(loss, point, k, h));
        if (!std::isfinite(fd)) {
            b.inconclusive(k, "the difference is not finite (x = " + short_number(x[k]) +
                                  ", h = " + short_number(h) +
                                  "): the loss is not finite at x +- h, or the step is lost");
            continue;
        }
        const bool ok = std::abs(fd - grad[k]) <= allowed;
        b.record(k, fd, grad[k], allowed, ok);
    }
}

check_result check_grad_finite_difference(const scalar_function& loss, std::span<const double> x,
                                          std::size_t classes, std::span<const double> grad,
                                          double loss_error, double third_bound, tolerance grad_tol,
                                          double grad_scale, std::size_t max_coordinates) {
    check_result r;
    finite_difference_check_buffers buffers;
    check_grad_finite_difference(r, buffers, loss, x, classes, grad, loss_error, third_bound,
                                 grad_tol, grad_scale, max_coordinates);
    return r;
}

}  // namespace xentcheck
