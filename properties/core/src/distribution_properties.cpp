/// Properties of the probabilities, and agreement with the long double reference.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <sstream>
#include <utility>

#include "problem_facts.h"
#include "support.h"

namespace xentcheck::properties {

verdict probs_in_unit_interval(implementation& impl, const problem& p) {
    detail::answer out;
    if (auto failed = detail::evaluate(impl, p, out)) return *failed;
    const auto facts = detail::facts_of(p);
    std::vector<double> storage;
    return detail::from_checks({check_probs_in_unit_interval(
        detail::kept_rows(out->probs, p.classes, facts->defined_rows(), storage), p.classes,
        facts->tolerance())});
}

verdict probs_sum_to_one(implementation& impl, const problem& p) {
    detail::answer out;
    if (auto failed = detail::evaluate(impl, p, out)) return *failed;
    const auto facts = detail::facts_of(p);
    std::vector<double> storage;
    return detail::from_checks({check_probs_sum_to_one(
        detail::kept_rows(out->probs, p.classes, facts->defined_rows(), storage), p.classes,
        facts->tolerance())});
}

namespace {

/// A class of a row and its logit's order_key, sorted by (key, class).
struct logit_rank {
    std::uint64_t key;
    std::size_t index;
};

/// An unsigned key that orders like the double (-0 taken as +0, so the two stay a tie). It is a
/// total order (NaN, which valid problems never hold, sorts above +inf), so both sorts below are
/// well defined for any input and give the same order.
std::uint64_t order_key(double z) {
    const std::uint64_t bits = std::bit_cast<std::uint64_t>(z == 0 ? 0.0 : z);
    return bits >> 63 ? ~bits : bits | (std::uint64_t{1} << 63);
}

/// Long rows are sorted by their keys in four stable passes of 16 bits (a vocabulary-sized
/// row in a few milliseconds; a comparison sort was most of such a case's time here).
void radix_sort(std::vector<logit_rank>& order) {
    std::vector<logit_rank> spare(order.size());
    std::vector<std::size_t> count(std::size_t{1} << 16);
    for (int shift = 0; shift < 64; shift += 16) {
        std::fill(count.begin(), count.end(), 0);
        for (const logit_rank& r : order)
            ++count[r.key >> shift & 0xFFFF];
        std::size_t sum = 0;
        for (std::size_t& n : count)
            sum += std::exchange(n, sum);
        for (const logit_rank& r : order)
            spare[count[r.key >> shift & 0xFFFF]++] = r;
        order.swap(spare);
    }
}

/// The classes of one row in increasing logit order, equal logits in class order.
void sort_by_logit(const double* z, std::vector<logit_rank>& order) {
    for (std::size_t j = 0; j < order.size(); ++j)
        order[j] = {order_key(z[j]), j};
    if (order.size() >= 4096) {
        radix_sort(order);  // stable: ties stay in class order
    } else {
        std::sort(order.begin(), order.end(), [](const logit_rank& a, const logit_rank& b) {
            return a.key < b.key || (a.key == b.key && a.index < b.index);
        });
    }
}

}  // namespace

verdict probs_preserve_order(implementation& impl, const problem& p) {
    detail::answer out;
    if (auto failed = detail::evaluate(impl, p, out)) return *failed;
    const auto facts = detail::facts_of(p);
    const tolerance tol = facts->tolerance().probs();
    const std::vector<bool>& keep = facts->defined_rows();
    const std::size_t c = p.classes;
    std::vector<logit_rank> order(c);
    for (std::size_t i = 0; i < p.rows; ++i) {
        if (!keep[i]) continue;
        const double* z = p.logits.data() + i * c;
        const double* q = out->probs.data() + i * c;
        sort_by_logit(z, order);
        // Adjacent pairs in logit order: each probability carries its own rounding bound.
        for (std::size_t k = 0; k + 1 < c; ++k) {
            const std::size_t a = order[k].index, b = order[k + 1].index;
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
    detail::answer out;
    if (auto failed = detail::evaluate(impl, p, out)) return *failed;
    const auto facts = detail::facts_of(p);
    const outputs& truth = facts->truth();
    const tolerance_model& model = facts->tolerance();
    return detail::from_checks(
        {detail::compare("probs", truth.probs, out->probs, p.classes, model.probs()),
         detail::compare("loss", truth.loss, out->loss, 1, model.loss()),
         detail::compare("grad", truth.grad, out->grad, p.classes, model.grad(),
                         facts->grad_magnitudes())});
}

}  // namespace xentcheck::properties
