/// The grad_matches_finite_difference check over (a sample of) the defined rows of a case.
#include "finite_difference_rows.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <string_view>

#include "xentcheck/checks.h"
#include "xentcheck/cross_entropy.h"
#include "xentcheck/tolerance.h"

namespace xentcheck::cli::detail {

namespace {

constexpr std::string_view check_name = "grad_matches_finite_difference";

/// Marks `e` skipped: a fresh result with only the check's name, and the reason.
void mark_skipped(check_entry& e, std::string_view reason) {
    e.result = xentcheck::check_result{};
    e.result.name.assign(check_name);
    e.skipped = true;
    e.skip_reason.assign(reason);
}

/// Beyond this |logit| check_grad_finite_difference scales its step with |x_j|; the cached
/// form assumes small steps around the base point.
constexpr double largest_cached_logit = 0x1p20;

/// Below this magnitude the short series below are accurate to a few long double ulps.
constexpr long double series_limit = 0x1p-10L;

/// 1/n for the series, n = 0..8.
constexpr long double reciprocal[] = {0,        1.0L,     1.0L / 2, 1.0L / 3, 1.0L / 4,
                                      1.0L / 5, 1.0L / 6, 1.0L / 7, 1.0L / 8};

/// expm1(x) for |x| <= series_limit: x (1 + x/2 (1 + x/3 (... (1 + x/7)))); the first term
/// left out, x^8 / 8!, is below 2^-95 |x|.
long double small_expm1(long double x) {
    long double r = 1;
    for (int n = 7; n >= 2; --n)
        r = 1 + x * reciprocal[n] * r;
    return x * r;
}

/// log1p(y) for |y| <= series_limit: y (1 - y (1/2 - y (1/3 - ... - y/8))); the first term
/// left out, y^9 / 9, is below 2^-83 |y|.
long double small_log1p(long double y) {
    long double r = reciprocal[8];
    for (int n = 7; n >= 1; --n)
        r = reciprocal[n] - y * r;
    return y * r;
}

}  // namespace

bool cached_index_loss::prepare(std::span<const double> x, std::size_t classes,
                                std::span<const std::int64_t> targets,
                                const xentcheck::cross_entropy_options& o, long double scale) {
    if (classes == 0 || x.size() != targets.size() * classes || o.label_smoothing != 0) {
        return false;
    }
    for (const double v : x) {
        if (!(std::abs(v) <= largest_cached_logit)) return false;  // also NaN
    }
    const std::size_t rows = targets.size();
    classes_ = classes;
    scale_ = scale;
    base_.assign(x.begin(), x.end());
    exps_.resize(x.size());
    rows_.resize(rows);
    base_total_ = 0;
    for (std::size_t i = 0; i < rows; ++i) {
        const std::int64_t t = targets[i];
        const bool ignored = t == o.ignore_index;
        if (!ignored && (t < 0 || static_cast<std::size_t>(t) >= classes)) return false;
        const long double* z = base_.data() + i * classes;
        long double* e = exps_.data() + i * classes;
        row_terms& r = rows_[i];
        r.argmax = static_cast<std::size_t>(std::max_element(z, z + classes) - z);
        r.shift = z[r.argmax];
        r.target = ignored ? 0 : static_cast<std::size_t>(t);
        r.weight = ignored ? 0.0L : o.weight.empty() ? 1.0L : o.weight[r.target];
        long double rest = 0;
        for (std::size_t j = 0; j < classes; ++j) {
            e[j] = j == r.argmax ? 1.0L : std::exp(z[j] - r.shift);
            if (j != r.argmax) rest += e[j];
        }
        r.rest = rest;
        r.inverse_sum = 1 / (1 + rest);
        r.loss = ignored ? 0.0L : r.weight * ((r.shift - z[r.target]) + std::log1p(rest));
        base_total_ += r.loss;
    }
    return true;
}

long double cached_index_loss::row_loss(std::size_t i, const long double* z) const {
    const row_terms& r = rows_[i];
    const long double* e = exps_.data() + i * classes_;
    const long double* base = base_.data() + i * classes_;
    // R = S - 1 with S = sum_j exp(z_j - m): the moved coordinates get new exponentials (the
    // argmax's as expm1, so R keeps its absolute accuracy when the argmax moves).
    const std::size_t a = r.argmax;
    long double rest = z[a] == base[a] ? 0.0L : std::expm1(z[a] - r.shift);
    for (std::size_t j = 0; j < classes_; ++j) {
        if (j != a) rest += z[j] == base[j] ? e[j] : std::exp(z[j] - r.shift);
    }
    return r.weight * ((r.shift - z[r.target]) + std::log1p(rest));
}

long double cached_index_loss::operator()(std::span<const long double> z) const {
    const std::size_t c = classes_;
    // Find the moved coordinates: a central difference moves exactly one.
    std::size_t moved = 0, at = 0;
    for (std::size_t k = 0; k < z.size(); ++k) {
        if (z[k] != base_[k]) {
            ++moved;
            at = k;
        }
    }
    if (moved == 0) return scale_ * base_total_;
    const std::size_t i = at / c, k = at % c;
    const row_terms& r = rows_[i];
    const long double step = z[at] - base_[at];  // exact, or within an ulp of |z_k|
    if (moved == 1 && std::abs(step) <= series_limit) {
        // One coordinate moved by a small step h: S' = S + e_k (e^h - 1), so the row loss
        // grows by w (log1p(e_k expm1(h) / S) - [k = t] h), evaluated to a few ulps of itself
        // by short series; the other rows and this row's base loss are unchanged.
        const long double y = exps_[at] * small_expm1(step) * r.inverse_sum;
        if (std::abs(y) <= series_limit) {
            const long double change = r.weight * (small_log1p(y) - (k == r.target ? step : 0.0L));
            return scale_ * (base_total_ + change);
        }
    }
    long double total = 0;
    for (std::size_t row = 0; row < rows_.size(); ++row) {
        const long double* zr = z.data() + row * c;
        const bool unchanged =
            rows_[row].weight == 0 || std::equal(zr, zr + c, base_.data() + row * c);
        total += unchanged ? rows_[row].loss : row_loss(row, zr);
    }
    return scale_ * total;
}

void check_grad_by_finite_differences(check_entry& out, const eval_case& c,
                                      std::span<const double> grad,
                                      std::span<const std::size_t> defined_rows,
                                      finite_difference_scratch& s, long double whole_loss,
                                      const xentcheck::problem_scale* case_scale) {
    out.skipped = false;
    out.skip_reason.clear();
    const std::size_t classes = c.classes;
    if (defined_rows.empty()) {
        mark_skipped(out, "no row has a defined loss (each has a NaN or +inf logit, or only -inf)");
        return;
    }
    const bool index_form = c.target_kind == xentcheck::target_view::kind::index;
    const std::size_t wanted =
        std::min(defined_rows.size(), std::max<std::size_t>(1, max_differenced_values / classes));
    // Every row, in order (the defined rows are increasing): the case's own values are
    // differenced, without copies, and rows need no mapping back.
    const bool all_rows = wanted == c.rows;
    std::span<const double> logits = c.logits, rows_grad = grad;
    std::span<const std::int64_t> target_indices = c.target_indices;
    std::span<const double> target_probs = c.target_probs;
    if (!all_rows) {
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
        logits = s.logits;
        rows_grad = s.grad;
        target_indices = s.target_indices;
        target_probs = s.target_probs;
    }
    const auto target = index_form ? xentcheck::target_view::indices(target_indices)
                                   : xentcheck::target_view::probabilities(target_probs);
    xentcheck::cross_entropy_options summed = c.options();
    summed.reduction = xentcheck::reduction::sum;
    // The mean's divisor belongs to the whole batch, not to the rows differenced.
    long double scale = 1;
    // The factor measure_problem applies to the case's loss and gradient scales (1 for sum).
    double case_scale_factor = 1;
    if (c.reduction == xentcheck::reduction::mean) {
        const auto shape = xentcheck::batch_shape{c.rows, classes};
        const double divisor = xentcheck::mean_divisor(shape, c.target(), c.options());
        scale = 1.0L / divisor;
        case_scale_factor = divisor != 0 ? 1.0 / std::abs(divisor) : 1.0;
    }
    const auto reference_loss = [&](std::span<const long double> z) -> long double {
        return scale * xentcheck::cross_entropy_loss<long double>(z, classes, target, summed);
    };
    // Every row differenced: lib's loss of the whole case is this function's value at x.
    const bool whole = all_rows && !std::isnan(whole_loss);
    long double value = whole_loss;
    if (!whole) {
        s.wide_logits.assign(logits.begin(), logits.end());
        value = reference_loss(s.wide_logits);
    }
    if (!std::isfinite(value) || !std::isfinite(scale)) {
        mark_skipped(out, "the loss is not finite, so it has no derivative to difference");
        return;
    }
    // With every row differenced, the problem measured is the case's own under reduction sum.
    // measure_problem's scales for the case's reduction are those for sum times the factor
    // above (docs of problem_scale: loss_scale and grad_scale carry s for mean; everything
    // else does not depend on the reduction, nor on the unit roundoff but for its own field),
    // so where that factor is 1 the case's measurement is this one.
    xentcheck::problem_scale measured;
    if (all_rows && case_scale && c.reduction != xentcheck::reduction::none &&
        case_scale_factor == 1.0) {
        measured = *case_scale;
        measured.unit_roundoff = xentcheck::unit_roundoff<long double>();
    } else {
        measured = xentcheck::measure_problem(xentcheck::unit_roundoff<long double>(), logits,
                                              classes, target, summed);
    }
    const xentcheck::tolerance_model model(measured);
    const double abs_scale = std::abs(static_cast<double>(scale));
    const double summed_loss = std::abs(static_cast<double>(value)) / abs_scale;
    const double loss_error = abs_scale * model.loss().bound(summed_loss);
    const double grad_scale = abs_scale * model.scale().grad_scale;
    const double third_bound = grad_scale / (6 * std::sqrt(3.0));
    xentcheck::tolerance grad_tol = model.grad();
    grad_tol.atol *= abs_scale;
    const auto coordinates = static_cast<std::size_t>(
        std::max(8.0, finite_difference_budget / (2.0 * static_cast<double>(logits.size()))));
    // The cached form stands in for lib's loss only where both agree at x (each is within
    // loss_error of the true loss, so they may differ by twice that).
    const bool cached = index_form &&
                        s.index_loss.prepare(logits, classes, target_indices, summed, scale) &&
                        std::abs(s.index_loss.at_base() - value) <= 2.0L * loss_error;
    const auto cached_loss = [&](std::span<const long double> z) { return s.index_loss(z); };
    // Held by reference: a std::function of a reference wrapper allocates nothing.
    const xentcheck::scalar_function loss =
        cached ? xentcheck::scalar_function(std::ref(cached_loss))
               : xentcheck::scalar_function(std::ref(reference_loss));
    xentcheck::check_result& r = out.result;
    xentcheck::check_grad_finite_difference(r, s.check_buffers, loss, logits, classes, rows_grad,
                                            loss_error, third_bound, grad_tol, grad_scale,
                                            coordinates);
    // Nothing compared (no step resolves the gradient at these logits): say so instead of a
    // pass that could not have failed.
    if (r.checked == 0 && r.inconclusive > 0) {
        const std::string reason =
            "no coordinate can be differenced meaningfully: " + r.inconclusive_reason;
        mark_skipped(out, reason);
        return;
    }
    if (all_rows) return;
    if (r.worst) r.worst->row = s.rows[r.worst->row];
    for (auto& f : r.findings)
        f.where.row = s.rows[f.where.row];
}

check_entry check_grad_by_finite_differences(const eval_case& c, std::span<const double> grad,
                                             std::span<const std::size_t> defined_rows,
                                             finite_difference_scratch& s, long double whole_loss) {
    check_entry entry;
    check_grad_by_finite_differences(entry, c, grad, defined_rows, s, whole_loss, nullptr);
    return entry;
}

}  // namespace xentcheck::cli::detail
