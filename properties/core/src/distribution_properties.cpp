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

/// An unsigned key that orders like the double (-0 taken as +0, so the two stay a tie). It is a
/// total order (NaN, which valid problems never hold, sorts above +inf or, negative, below
/// -inf), so the sort below is well defined for any input.
std::uint64_t order_key(double z) {
    const std::uint64_t bits = std::bit_cast<std::uint64_t>(z == 0 ? 0.0 : z);
    return bits >> 63 ? ~bits : bits | (std::uint64_t{1} << 63);
}

/// The same for the logit rounded to float: coarser, but never out of order (rounding is
/// monotonic), so sorting by it and then by order_key() within its ties is sorting by
/// order_key().
std::uint32_t coarse_key(double z) {
    const float f = static_cast<float>(z);
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(f == 0 ? 0.0f : f);
    return bits >> 31 ? ~bits : bits | (std::uint32_t{1} << 31);
}

/// Sorts items (coarse key << 32 | class) by their upper 32 bits in three stable passes of 11
/// bits (2048 buckets stay in the first-level cache). The counts of every pass are taken in
/// one scan, and a pass whose digit is the same for every key is skipped.
void radix_sort_by_coarse_key(std::vector<std::uint64_t>& items) {
    constexpr int bits = 11, passes = 3;
    constexpr std::size_t buckets = std::size_t{1} << bits;
    auto digit = [](std::uint64_t item, int d) {
        return static_cast<std::size_t>(item >> (32 + d * bits) & (buckets - 1));
    };
    std::vector<std::uint64_t> spare(items.size());
    std::vector<std::size_t> count(passes * buckets, 0);
    for (const std::uint64_t item : items) {
        for (int d = 0; d < passes; ++d)
            ++count[d * buckets + digit(item, d)];
    }
    for (int d = 0; d < passes; ++d) {
        std::size_t* c = count.data() + d * buckets;
        if (c[digit(items.front(), d)] == items.size()) continue;
        std::size_t sum = 0;
        for (std::size_t b = 0; b < buckets; ++b)
            sum += std::exchange(c[b], sum);
        for (const std::uint64_t item : items)
            spare[c[digit(item, d)]++] = item;
        items.swap(spare);
    }
}

/// The classes of one row in increasing logit order (order_key), equal logits in class order:
/// 8-byte items (coarse key, class) are sorted (radix passes from 4096 classes on, a
/// comparison sort below), then each run of equal coarse keys by (order_key, class). Such runs
/// are logits within a float's rounding of each other, or equal: short, or long and already in
/// order (a masked row's -inf, a row of ties), which the check before the sort leaves as it is.
void sort_by_logit(const double* z, std::vector<std::uint64_t>& items) {
    for (std::size_t j = 0; j < items.size(); ++j)
        items[j] = std::uint64_t{coarse_key(z[j])} << 32 | j;
    if (items.size() >= 4096) {
        radix_sort_by_coarse_key(items);  // stable: ties stay in class order
    } else {
        std::sort(items.begin(), items.end());
    }
    const auto by_logit = [z](std::uint64_t a, std::uint64_t b) {
        const std::uint64_t ka = order_key(z[a & 0xFFFFFFFF]), kb = order_key(z[b & 0xFFFFFFFF]);
        return ka < kb || (ka == kb && (a & 0xFFFFFFFF) < (b & 0xFFFFFFFF));
    };
    for (std::size_t from = 0; from < items.size();) {
        std::size_t to = from + 1;
        while (to < items.size() && items[to] >> 32 == items[from] >> 32)
            ++to;
        const auto first = items.begin() + static_cast<std::ptrdiff_t>(from);
        const auto last = items.begin() + static_cast<std::ptrdiff_t>(to);
        if (to - from > 1 && !std::is_sorted(first, last, by_logit))
            std::sort(first, last, by_logit);
        from = to;
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
    std::vector<std::uint64_t> order(c);  // (coarse key << 32 | class), sorted
    for (std::size_t i = 0; i < p.rows; ++i) {
        if (!keep[i]) continue;
        const double* z = p.logits.data() + i * c;
        const double* q = out->probs.data() + i * c;
        sort_by_logit(z, order);
        // Adjacent pairs in logit order: each probability carries its own rounding bound. Each
        // class is read once (its values are carried to the next pair): the reads follow the
        // sorted order, so they are scattered over the row.
        std::size_t b = order[0] & 0xFFFFFFFF;
        double zb = z[b], qb = q[b], bound_b = tol.bound(std::abs(qb));
        for (std::size_t k = 0; k + 1 < c; ++k) {
            const std::size_t a = b;
            const double za = zb, qa = qb, bound_a = bound_b;
            b = order[k + 1] & 0xFFFFFFFF;
            zb = z[b];
            qb = q[b];
            bound_b = tol.bound(std::abs(qb));
            const double allowed = bound_a + bound_b;
            const bool tie = za == zb;
            const bool ok = tie ? std::abs(qa - qb) <= allowed : qa <= qb + allowed;
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
