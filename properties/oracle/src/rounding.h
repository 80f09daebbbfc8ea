/// Deciding the correct rounding of an enclosure, and the precision that would decide it.
#pragma once

#include "interval.h"
#include "xentcheck/oracle/oracle.h"

namespace xentcheck::oracle::detail {

/// What an undecided rounding asks for: a higher working precision, and whether the enclosure
/// was already far narrower than the rounding's half-ulp (so the true value sits at, or within
/// 2^-precision relative of, a rounding midpoint: more precision may never decide it).
struct retry {
    long precision = 0;         ///< 0: everything decided
    bool only_midpoint = true;  ///< every undecided value was of the narrow kind
    /// Combines the requests of two values.
    void merge(const retry& other) {
        if (other.precision == 0) return;
        only_midpoint = (precision == 0 || only_midpoint) && other.only_midpoint;
        precision = precision > other.precision ? precision : other.precision;
    }
};

/// Fills `out` from the enclosure `x` of a true value: the roundings of its midpoint and the
/// residuals. When every rounding requested by `settings` (double always) gives the same result
/// at both ends of `x`, the true value rounds to it: returns no retry and sets out.proven.
/// Otherwise returns the working precision expected to narrow `x` enough (at least double when
/// `x` contains 0 or is already narrow), and clears out.proven.
retry decide(const interval& x, const oracle_options& settings, value& out);

/// A value that is exactly x (NaN, an infinity, or an exact zero), proven.
value exact_value(double x);

}  // namespace xentcheck::oracle::detail
