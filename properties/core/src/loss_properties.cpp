/// Loss properties: non-negativity, the entropy lower bound, the logsumexp form.
#include <cmath>
#include <sstream>

#include "problem_facts.h"
#include "support.h"

namespace xentcheck::properties {

verdict loss_nonnegative(implementation& impl, const problem& p) {
    detail::answer out;
    if (auto failed = detail::evaluate(impl, p, out)) return *failed;
    return detail::from_checks(
        {check_loss_nonnegative(out->loss, detail::facts_of(p)->tolerance())});
}

namespace {

/// Reduces per-row values like the loss: none keeps them, sum adds, mean divides by D.
std::vector<long double> reduce(const problem& p, const std::vector<long double>& rows,
                                long double divisor) {
    if (p.reduction == xentcheck::reduction::none) return rows;
    long double total = 0;
    for (const long double v : rows)
        total += v;
    return {p.reduction == xentcheck::reduction::mean ? total / divisor : total};
}

}  // namespace

verdict loss_at_least_target_entropy(implementation& impl, const problem& p) {
    detail::answer out;
    if (auto failed = detail::evaluate(impl, p, out)) return *failed;
    const auto facts = detail::facts_of(p);
    const detail::effective_targets& e = facts->effective();
    const std::size_t c = p.classes;
    // Gibbs: -sum_j a_j log p_j >= -sum_j a_j log(a_j / A) = A H(a / A) for a >= 0.
    std::vector<long double> entropy(p.rows, 0.0L);
    for (std::size_t i = 0; i < p.rows; ++i) {
        for (std::size_t j = 0; j < c; ++j) {
            const long double a = e.a[i * c + j];
            if (a > 0) entropy[i] -= a * std::log(a / e.mass[i]);
        }
    }
    const auto bound = reduce(p, entropy, e.divisor);
    const tolerance tol = facts->tolerance().loss();
    for (std::size_t k = 0; k < bound.size(); ++k) {
        const double loss = out->loss[k];
        if (std::isnan(loss) || std::isnan(static_cast<double>(bound[k]))) continue;
        const long double own = tolerance_model::safety * static_cast<long double>(c + p.rows + 2) *
                                detail::u_long_double * std::abs(bound[k]);
        const double allowed = tol.bound(std::abs(loss)) + static_cast<double>(own);
        if (loss >= static_cast<double>(bound[k]) - allowed) continue;
        std::ostringstream os;
        os << "loss_at_least_target_entropy: loss[" << k << "] = " << show_number(loss)
           << " is below the target entropy " << show_number(static_cast<double>(bound[k]))
           << " by more than " << show_number(allowed);
        return verdict::fail(os.str());
    }
    return verdict::pass();
}

verdict loss_equals_logsumexp_form(implementation& impl, const problem& p) {
    detail::answer out;
    if (auto failed = detail::evaluate(impl, p, out)) return *failed;
    const auto facts = detail::facts_of(p);
    const detail::effective_targets& e = facts->effective();
    const std::size_t c = p.classes;
    const std::span<const long double> lse = facts->row_logsumexp();
    const long double eps = p.label_smoothing;
    auto w = [&](std::size_t j) -> long double { return p.weight.empty() ? 1.0L : p.weight[j]; };
    std::vector<long double> rows(p.rows, 0.0L);
    for (std::size_t i = 0; i < p.rows; ++i) {
        if (p.row_ignored(i)) continue;
        const double* zi = p.logits.data() + i * c;  // exact in long double
        if (p.kind() == target_kind::index) {
            // As nll_loss: only the target's log-probability, plus the smoothing term.
            const auto t = static_cast<std::size_t>(p.target_indices()[i]);
            rows[i] = (1 - eps) * w(t) * (lse[i] - zi[t]);
            if (eps > 0) {
                long double smooth = 0;
                for (std::size_t j = 0; j < c; ++j)
                    smooth += w(j) * (lse[i] - zi[j]);
                rows[i] += eps / static_cast<long double>(c) * smooth;
            }
        } else {
            for (std::size_t j = 0; j < c; ++j)  // 0 * inf = NaN, as PyTorch
                rows[i] += e.a[i * c + j] * (lse[i] - zi[j]);
        }
    }
    const auto expected = reduce(p, rows, e.divisor);
    const tolerance_model& model = facts->tolerance();
    tolerance tol = model.loss();
    tol.atol +=
        static_cast<double>(tolerance_model::safety * static_cast<long double>(c + p.rows + 2) *
                            detail::u_long_double * model.logit_range()) *
        model.scale().loss_scale;
    return detail::from_checks({detail::compare(
        "loss vs sum_j a_j (logsumexp(z) - z_j)",
        std::vector<double>(expected.begin(), expected.end()), out->loss, 1, tol)});
}

}  // namespace xentcheck::properties
