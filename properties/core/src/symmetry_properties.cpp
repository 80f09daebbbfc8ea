/// Symmetry properties: shift invariance, permutation equivariance, batch = rows alone.
#include <algorithm>
#include <cmath>
#include <limits>

#include "problem_facts.h"
#include "support.h"

namespace xentcheck::properties {

namespace {

/// Each defined row shifted so that its largest finite logit becomes `top`.
std::vector<double> shifted_logits(const problem& p, double top) {
    std::vector<double> z = p.logits;
    for (std::size_t i = 0; i < p.rows; ++i) {
        double m = -std::numeric_limits<double>::infinity();
        for (std::size_t j = 0; j < p.classes; ++j)
            m = std::max(m, z[i * p.classes + j]);
        if (!std::isfinite(m)) continue;  // an undefined row stays undefined
        for (std::size_t j = 0; j < p.classes; ++j)
            z[i * p.classes + j] += top - m;  // -inf stays -inf
    }
    return z;
}

}  // namespace

verdict shift_invariance(implementation& impl, const problem& p) {
    detail::answer base;
    if (auto failed = detail::evaluate(impl, p, base)) return *failed;
    const auto facts = detail::facts_of(p);
    const tolerance_model& model = facts->tolerance();
    const std::vector<double>& magnitudes = facts->grad_magnitudes();
    // Two shifts: rows centred at 0 (the usual manual shift), and rows whose largest logit
    // is 709, where a sum of a few unshifted exponentials already overflows.
    for (const double top : {0.0, 709.0}) {
        const problem q = detail::with_logits(p, shifted_logits(p, top));
        detail::answer out;
        if (auto failed = detail::evaluate_once(impl, q, out, "the shifted problem"))
            return *failed;
        // The shifted logits are rounded to the dtype: an input perturbation the shifted
        // problem's own bounds (with its larger max |z|) cover.
        const tolerance_model shifted = q.tolerance();
        const std::string suffix =
            top == 0 ? " (rows shifted to max 0)" : " (rows shifted to max 709)";
        auto v = detail::from_checks(
            {detail::compare("probs" + suffix, base->probs, out->probs, p.classes,
                             detail::sum_of(model.probs(), shifted.probs())),
             detail::compare("loss" + suffix, base->loss, out->loss, 1,
                             detail::sum_of(model.loss(), shifted.loss())),
             detail::compare("grad" + suffix, base->grad, out->grad, p.classes,
                             detail::sum_of(model.grad(), shifted.grad()), magnitudes)});
        if (!v) return v;
    }
    return verdict::pass();
}

verdict permutation_equivariance(implementation& impl, const problem& p) {
    const std::size_t c = p.classes;
    // sigma: reverse the classes, then rotate by C/3 (a swap for C = 2, a real shuffle beyond).
    std::vector<std::size_t> sigma(c), inverse(c);
    for (std::size_t k = 0; k < c; ++k) {
        sigma[k] = (c - 1 - k + c / 3) % c;
        inverse[sigma[k]] = k;
    }
    problem q = p;
    for (std::size_t i = 0; i < p.rows; ++i) {
        for (std::size_t k = 0; k < c; ++k)
            q.logits[i * c + k] = p.logits[i * c + sigma[k]];
    }
    if (!p.weight.empty()) {
        for (std::size_t k = 0; k < c; ++k)
            q.weight[k] = p.weight[sigma[k]];
    }
    auto in_range = [c](std::int64_t t) { return t >= 0 && static_cast<std::size_t>(t) < c; };
    if (p.kind() == target_kind::index) {
        auto t = p.target_indices();
        for (auto& ti : t) {
            if (in_range(ti)) ti = static_cast<std::int64_t>(inverse[static_cast<std::size_t>(ti)]);
        }
        q.target = t;
        if (in_range(p.ignore_index)) {
            q.ignore_index =
                static_cast<std::int64_t>(inverse[static_cast<std::size_t>(p.ignore_index)]);
        }
    } else {
        std::vector<double> y = p.target_probs();
        for (std::size_t i = 0; i < p.rows; ++i) {
            for (std::size_t k = 0; k < c; ++k)
                y[i * c + k] = p.target_probs()[i * c + sigma[k]];
        }
        q.target = std::move(y);
    }
    detail::answer base, out;
    if (auto failed = detail::evaluate(impl, p, base)) return *failed;
    if (auto failed = detail::evaluate_once(impl, q, out, "the permuted problem")) return *failed;
    // Expected: the original outputs with their classes permuted the same way.
    auto permuted = [&](const std::vector<double>& v) {
        std::vector<double> r(v.size());
        for (std::size_t i = 0; i < p.rows; ++i) {
            for (std::size_t k = 0; k < c; ++k)
                r[i * c + k] = v[i * c + sigma[k]];
        }
        return r;
    };
    const auto facts = detail::facts_of(p);
    const tolerance_model& model = facts->tolerance();
    const auto magnitudes = permuted(facts->grad_magnitudes());
    return detail::from_checks(
        {detail::compare("probs (classes permuted)", permuted(base->probs), out->probs, c,
                         detail::times(model.probs(), 2)),
         detail::compare("loss (classes permuted)", base->loss, out->loss, 1,
                         detail::times(model.loss(), 2)),
         detail::compare("grad (classes permuted)", permuted(base->grad), out->grad, c,
                         detail::times(model.grad(), 2), magnitudes)});
}

verdict batch_equals_rows(implementation& impl, const problem& p) {
    detail::answer batch;
    if (auto failed = detail::evaluate(impl, p, batch)) return *failed;
    const auto facts = detail::facts_of(p);
    const detail::effective_targets& e = facts->effective();
    const std::size_t c = p.classes;
    std::vector<double> probs, grad, row_losses;
    long double total = 0;
    for (std::size_t i = 0; i < p.rows; ++i) {
        problem q = row_problem(p, i);
        q.reduction = xentcheck::reduction::sum;
        detail::answer out;
        const std::string what = "row " + std::to_string(i) + " alone";
        if (auto failed = detail::evaluate_once(impl, q, out, what.c_str())) return *failed;
        probs.insert(probs.end(), out->probs.begin(), out->probs.end());
        // Row i contributes s * (its own gradient); an ignored row contributes nothing even
        // when every row is ignored and s = 1/0.
        const long double s = p.row_ignored(i) ? 1.0L : e.scale;
        for (const double g : out->grad)
            grad.push_back(static_cast<double>(s * g));
        row_losses.push_back(out->loss[0]);
        total += out->loss[0];
    }
    std::vector<double> loss = row_losses;
    if (p.reduction == xentcheck::reduction::sum) loss = {static_cast<double>(total)};
    if (p.reduction == xentcheck::reduction::mean) {
        loss = {static_cast<double>(total / e.divisor)};
    }
    const tolerance_model& model = facts->tolerance();
    return detail::from_checks(
        {detail::compare("probs (rows alone)", probs, batch->probs, c,
                         detail::times(model.probs(), 2)),
         detail::compare("loss (rows alone, reduced)", loss, batch->loss, 1,
                         detail::times(model.loss(), 2)),
         detail::compare("grad (rows alone, scaled)", grad, batch->grad, c,
                         detail::times(model.grad(), 2), facts->grad_magnitudes())});
}

}  // namespace xentcheck::properties
