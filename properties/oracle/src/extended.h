/// Enclosures of values that may be non-finite: the oracle's IEEE-style inf/NaN bookkeeping.
#pragma once

#include "interval.h"

namespace xentcheck::oracle::detail {

/// A finite interval, or a non-finite value known exactly, or "undecided" (e.g. an infinity
/// times a coefficient whose sign the current precision cannot tell).
struct extended {
    enum class kind { finite, pos_inf, neg_inf, nan, undecided };
    kind k = kind::finite;  ///< which of the above
    interval v;             ///< the enclosure when k is finite

    /// The finite point 0 at `precision` bits.
    explicit extended(mpfr_prec_t precision) : v(precision) {}
    /// The exact non-finite value of this kind, or 0 for finite.
    double special() const;
};

/// out = coef * x with IEEE rules for x infinite: 0 * inf = NaN, the sign of inf follows coef.
void ext_mul(extended& out, const interval& coef, const extended& x);
/// acc += x with IEEE rules: inf + -inf = NaN, NaN absorbs. `scratch` must have acc's precision.
void ext_accumulate(extended& acc, const extended& x, interval& scratch);

}  // namespace xentcheck::oracle::detail
