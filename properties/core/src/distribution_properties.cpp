/// Properties of the probabilities, and agreement with the long double reference.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include "support.h"

namespace xentcheck::properties {

verdict probs_in_unit_interval(implementation& impl, const problem& p) {
    outputs out;
    if (auto failed = detail::evaluate(impl, p, out)) return *failed;
    const auto keep = detail::defined_rows(p);
    return detail::from_checks({check_probs_in_unit_interval(
        detail::keep_rows(out.probs, p.classes, keep), p.classes, p.tolerance())});
}

verdict probs_sum_to_one(implementation& impl, const problem& p) {
    outputs out;
    if (auto failed = detail::evaluate(impl, p, out)) return *failed;
    const auto keep = detail::defined_rows(p);
    return detail::from_checks({check_probs_sum_to_one(
        detail::keep_rows(out.probs, p.classes, keep), p.classes, p.tolerance())});
}

verdict probs_preserve_order(implementation& impl, const problem& p) {
    outputs out;
    if (auto failed = detail::evaluate(impl, p, out)) return *failed;
    const tolerance tol = p.tolerance().probs();
    const auto keep = detail::defined_rows(p);
    const std::size_t c = p.classes;
    std::vector<std::size_t> order(c);
    for (std::size_t i = 0; i < p.rows; ++i) {
        if (!keep[i]) continue;
        const double* z = p.logits.data() + i * c;
        const double* q = out.probs.data() + i * c;
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::stable_sort(order.begin(), order.end(),
                         [z](std::size_t a, std::size_t b) { return z[a] < z[b]; });
        // Adjacent pairs in logit order: each probability carries its own rounding bound.
        for (std::size_t k = 0; k + 1 < c; ++k) {
            const std::size_t a = order[k], b = order[k + 1];
            const double allowed = tol.bound(std::abs(q[a])) + tol.bound(std::abs(q[b]));
            const bool tie = z[a] == z[b];
            const bool ok = tie ? std::abs(q[a] - q[b]) <= allowed : q[a] <= q[b] + allowed;
            if (ok) continue;
            std::ostringstream os;
            os << "probs_preserve_order: row " << i << ": z[" << a << "] = " << show_number(z[a])
               << (tie ? " == " : " < ") << "z[" << b << "] = " << show_number(z[b]) << " but p["
               << a << "] = " << show_number(q[a]) << ", p[" << b << "] = " << show_number(q[b])
               << " (allowed " << show_number(allowed) << ")";
            return verdict::fail(os.str());
        }
    }
    return verdict::pass();
}

verdict agrees_with_reference(implementation& impl, const problem& p) {
    outputs out;
    if (auto failed = detail::evaluate(impl, p, out)) return *failed;
    const outputs truth = reference_outputs(p);
    const tolerance_model model = p.tolerance();
    return detail::from_checks(
        {detail::compare("probs", truth.probs, out.probs, p.classes, model.probs()),
         detail::compare("loss", truth.loss, out.loss, 1, model.loss()),
         detail::compare("grad", truth.grad, out.grad, p.classes, model.grad(),
                         detail::grad_magnitudes_of(p, truth))});
}

}  // namespace xentcheck::properties
