/// Gradient properties: row sums, bounds, ignored rows, chain rule, Hessian by differences.
#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "problem_facts.h"
#include "support.h"
#include "xentcheck/jacobian.h"

namespace xentcheck::properties {

verdict grad_rows_sum_to_zero(implementation& impl, const problem& p) {
    detail::answer out;
    if (auto failed = detail::evaluate(impl, p, out)) return *failed;
    const auto facts = detail::facts_of(p);
    std::vector<double> storage;
    return detail::from_checks({check_grad_rows_sum_to_zero(
        detail::kept_rows(out->grad, p.classes, facts->defined_rows(), storage), p.classes,
        facts->tolerance())});
}

verdict grad_within_bounds(implementation& impl, const problem& p) {
    detail::answer out;
    if (auto failed = detail::evaluate(impl, p, out)) return *failed;
    const auto facts = detail::facts_of(p);
    const outputs& truth = facts->truth();
    const std::vector<double>& magnitudes = facts->grad_magnitudes();
    const detail::effective_targets& e = facts->effective();
    const tolerance tol = facts->tolerance().grad();
    const std::vector<bool>& keep = facts->defined_rows();
    const std::size_t c = p.classes;
    for (std::size_t i = 0; i < p.rows; ++i) {
        if (!keep[i]) continue;
        const long double s = p.row_ignored(i) ? 0.0L : e.scale;
        for (std::size_t j = 0; j < c; ++j) {
            const std::size_t k = i * c + j;
            const double lower = static_cast<double>(-s * e.a[k]);
            const double upper = static_cast<double>(s * e.mass[i] * truth.probs[k]);
            const double allowed = tol.bound(magnitudes[k]);
            const double g = out->grad[k];
            if (g >= lower - allowed && g <= upper + allowed) continue;
            std::ostringstream os;
            os << "grad_within_bounds: row " << i << ", class " << j << ": grad " << show_number(g)
               << " outside [-s a_j, s A p_j] = [" << show_number(lower) << ", "
               << show_number(upper) << "] by more than " << show_number(allowed);
            return verdict::fail(os.str());
        }
    }
    return verdict::pass();
}

verdict ignored_rows_exactly_zero(implementation& impl, const problem& p) {
    if (p.kind() != target_kind::index) return verdict::pass();
    detail::answer out;
    if (auto failed = detail::evaluate(impl, p, out)) return *failed;
    for (std::size_t i = 0; i < p.rows; ++i) {
        if (!p.row_ignored(i)) continue;
        for (std::size_t j = 0; j < p.classes; ++j) {
            const double g = out->grad[i * p.classes + j];
            if (g != 0.0) {
                return verdict::fail("ignored_rows_exactly_zero: row " + std::to_string(i) +
                                     " is ignored but grad at class " + std::to_string(j) + " is " +
                                     show_number(g));
            }
        }
        if (p.reduction == xentcheck::reduction::none && out->loss[i] != 0.0) {
            return verdict::fail("ignored_rows_exactly_zero: row " + std::to_string(i) +
                                 " is ignored but its loss is " + show_number(out->loss[i]));
        }
    }
    return verdict::pass();
}

verdict grad_matches_chain_rule(implementation& impl, const problem& p) {
    detail::answer out;
    if (auto failed = detail::evaluate(impl, p, out)) return *failed;
    const std::size_t c = p.classes;
    const auto facts = detail::facts_of(p);
    // p in long double: the reference's probabilities before rounding.
    const std::span<const long double> probs = facts->exact_probs();
    const detail::effective_targets& e = facts->effective();
    // dE/dp_j = -a_j / p_j for the row loss E = -sum_j a_j log p_j. Where p_j is so small
    // that a_j / p_j overflows even in long double (p_j < a_j e^-11356, e.g. logit gaps of
    // 1e4 and more), the chain path cannot be evaluated: skip the row.
    std::vector<bool> keep = facts->defined_rows();
    // Row by row, so the long double intermediates take one row's memory, not the batch's.
    std::vector<double> expected(p.rows * c);
    std::vector<long double> dedp(c), chain(c);
    for (std::size_t i = 0; i < p.rows; ++i) {
        const std::span<const long double> row = probs.subspan(i * c, c);
        const long double* a = e.a.data() + i * c;
        std::fill(dedp.begin(), dedp.end(), 0.0L);
        for (std::size_t j = 0; j < c && keep[i]; ++j) {
            if (a[j] == 0) continue;
            dedp[j] = -a[j] / row[j];
            if (!std::isfinite(dedp[j])) keep[i] = false;
        }
        if (!keep[i]) continue;
        xentcheck::softmax_jvp<long double>(row, c, dedp, chain);
        const long double s = p.row_ignored(i) ? 0.0L : e.scale;
        for (std::size_t j = 0; j < c; ++j)
            expected[i * c + j] = static_cast<double>(s * chain[j]);
    }
    // The chain path cancels -a_j against p_j sum_k a_k in long double: its own error is
    // safety (C + 2) u_ld times the entry's magnitude s (A p_j + a_j).
    tolerance tol = facts->tolerance().grad();
    tol.rtol += static_cast<double>(tolerance_model::safety * static_cast<long double>(c + 2) *
                                    detail::u_long_double);
    std::vector<double> kept_expected, kept_grad, kept_magnitudes;
    return detail::from_checks({detail::compare(
        "grad vs chain rule J(p) (-a/p)", detail::kept_rows(expected, c, keep, kept_expected),
        detail::kept_rows(out->grad, c, keep, kept_grad), c, tol,
        detail::kept_rows(facts->grad_magnitudes(), c, keep, kept_magnitudes))});
}

namespace {

/// Up to 8 (row, class) coordinates with finite logits: each sampled row's largest logit,
/// its target class, and its first and last class.
std::vector<std::pair<std::size_t, std::size_t>> sample_coordinates(const problem& p) {
    std::set<std::pair<std::size_t, std::size_t>> picked;
    const auto facts = detail::facts_of(p);  // held: `keep` lives in it
    const std::vector<bool>& keep = facts->defined_rows();
    const std::size_t c = p.classes;
    for (const std::size_t i : {std::size_t{0}, p.rows - 1}) {
        if (!keep[i]) continue;
        const auto row = p.logits.begin() + static_cast<std::ptrdiff_t>(i * c);
        const auto argmax = static_cast<std::size_t>(
            std::max_element(row, row + static_cast<std::ptrdiff_t>(c)) - row);
        std::vector<std::size_t> columns{argmax, 0, c - 1};
        if (p.kind() == target_kind::index && !p.row_ignored(i))
            columns.push_back(static_cast<std::size_t>(p.target_indices()[i]));
        for (const std::size_t j : columns) {
            if (std::isfinite(p.logits[i * c + j]) && picked.size() < 8) picked.insert({i, j});
        }
    }
    return {picked.begin(), picked.end()};
}

}  // namespace

verdict hessian_matches_gradient_differences(implementation& impl, const problem& p) {
    detail::answer base;
    if (auto failed = detail::evaluate(impl, p, base)) return *failed;
    const std::size_t c = p.classes, n = p.rows * p.classes;
    const std::vector<long double> z(p.logits.begin(), p.logits.end());
    std::vector<long double> hessian(p.rows * c * c);
    xentcheck::cross_entropy_hessian<long double>(z, c, p.target_view(), p.options(), hessian);
    const tolerance_model model = detail::facts_of(p)->tolerance();
    // Every gradient entry's error is at most grad().bound(2 grad_scale) (its magnitude
    // s (A p + |a|) is at most twice grad_scale). Along one logit, |d^2 g / dz^2| <=
    // s A / (6 sqrt 3) < 0.1 s A and |d^3 g / dz^3| <= s A / 8, with s A <= grad_scale.
    const double scale = model.scale().grad_scale;
    const double grad_error = model.grad().bound(2 * scale);
    const double second = 0.1 * scale, third = scale / 8;
    const double step = plan_central_difference(grad_error, third).step;
    for (const auto& [i, j] : sample_coordinates(p)) {
        const std::size_t k = i * c + j;
        std::vector<double> up = p.logits, down = p.logits;
        up[k] = detail::round_to_dtype(p.logits[k] + step, p.dtype);
        down[k] = detail::round_to_dtype(p.logits[k] - step, p.dtype);
        // The steps actually taken (exact in long double); huge logits absorb the step.
        const long double hp = static_cast<long double>(up[k]) - p.logits[k];
        const long double hm = static_cast<long double>(p.logits[k]) - down[k];
        if (!(hp > step / 2 && hp < 2 * step && hm > step / 2 && hm < 2 * step)) continue;
        detail::answer gp, gm;
        if (auto failed = detail::evaluate_once(impl, detail::with_logits(p, up), gp,
                                                "the problem with one logit raised"))
            return *failed;
        if (auto failed = detail::evaluate_once(impl, detail::with_logits(p, down), gm,
                                                "the problem with one logit lowered"))
            return *failed;
        // Asymmetric central difference: truncation f'' (hp - hm) / 2 + f''' (hp^3 + hm^3) /
        // (6 (hp + hm)), rounding 2 e / (hp + hm).
        const long double width = hp + hm;
        const double bound = static_cast<double>(
            tolerance_model::safety *
            (second * std::abs(hp - hm) / 2 + third * (hp * hp * hp + hm * hm * hm) / (6 * width) +
             2 * grad_error / width));
        std::vector<double> expected(n, 0.0), difference(n);
        for (std::size_t r = 0; r < n; ++r) {
            difference[r] =
                static_cast<double>((gp->grad[r] - static_cast<long double>(gm->grad[r])) / width);
            if (r / c == i) expected[r] = static_cast<double>(hessian[i * c * c + (r % c) * c + j]);
        }
        auto v = detail::from_checks({detail::compare(
            "d grad / d z[row " + std::to_string(i) + ", class " + std::to_string(j) +
                "] by central differences vs the Hessian column",
            expected, difference, c, tolerance{bound, 0})});
        if (!v) return v;
    }
    return verdict::pass();
}

}  // namespace xentcheck::properties
