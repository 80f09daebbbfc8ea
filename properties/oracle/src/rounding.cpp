/// Rounding decisions for the oracle's enclosures (see rounding.h).
#include "rounding.h"

#include <algorithm>
#include <limits>

namespace xentcheck::oracle::detail {

namespace {

/// A binary floating-point format: significand bits and the exponent of its smallest ulp.
struct format {
    long digits;
    long min_ulp_exponent;
};
constexpr format binary64{53, -1074};
constexpr format x87_extended{64, -16445};
constexpr format binary32{24, -149};

/// Exponent of half the spacing of `f` near a value whose MPFR exponent is `e` (|x| in
/// [2^(e-1), 2^e)): the distance scale at which its round-to-nearest decision is made.
long half_ulp_exponent(format f, long e) {
    return std::max(e - f.digits, f.min_ulp_exponent) - 1;
}

}  // namespace

value exact_value(double x) {
    value v;
    v.nearest = x;
    v.nearest_ld = x;
    v.nearest_f = static_cast<float>(x);
    return v;
}

retry decide(const interval& x, const oracle_options& settings, value& out) {
    const long precision = x.precision();
    mpfr_t mid, t;
    mpfr_init2(mid, precision + 1);  // the midpoint of two P-bit numbers is exact at P + 1 bits
    mpfr_init2(t, precision + 1);
    midpoint(mid, x);

    const bool double_ok = mpfr_get_d(x.lo(), MPFR_RNDN) == mpfr_get_d(x.hi(), MPFR_RNDN);
    const bool ld_ok =
        !settings.long_double || mpfr_get_ld(x.lo(), MPFR_RNDN) == mpfr_get_ld(x.hi(), MPFR_RNDN);
    const bool float_ok =
        !settings.single || mpfr_get_flt(x.lo(), MPFR_RNDN) == mpfr_get_flt(x.hi(), MPFR_RNDN);

    out.nearest = mpfr_get_d(mid, MPFR_RNDN);
    mpfr_sub_d(t, mid, out.nearest, MPFR_RNDN);
    out.residual = mpfr_get_d(t, MPFR_RNDN);
    // The other formats cost a little per value: only when asked for (NaN otherwise).
    out.nearest_ld = out.residual_ld = std::numeric_limits<long double>::quiet_NaN();
    out.nearest_f = std::numeric_limits<float>::quiet_NaN();
    if (settings.long_double) {
        out.nearest_ld = mpfr_get_ld(mid, MPFR_RNDN);
        mpfr_set_ld(t, out.nearest_ld, MPFR_RNDN);
        mpfr_sub(t, mid, t, MPFR_RNDN);
        out.residual_ld = mpfr_get_ld(t, MPFR_RNDN);
    }
    if (settings.single) out.nearest_f = mpfr_get_flt(mid, MPFR_RNDN);
    out.proven = double_ok && ld_ok && float_ok;

    retry needed;
    if (!out.proven) {
        // The enclosure must shrink below the finest half-ulp among the undecided formats; its
        // width scales as 2^-precision, so that many more bits (plus a margin) should do.
        // An enclosure of 0 says nothing about the value's size: aim at the finest spacing of
        // the formats (a double below 2^-1075 rounds to 0, so one retry settles it), within
        // 2x..8x the precision (long double's 2^-16446 would be costly to aim at blindly).
        const bool spans_zero = mpfr_sgn(x.lo()) <= 0 && mpfr_sgn(x.hi()) >= 0;
        const long e =
            spans_zero || mpfr_zero_p(mid) ? std::numeric_limits<int>::min() : mpfr_get_exp(mid);
        long target = std::numeric_limits<long>::max();
        if (!double_ok) target = std::min(target, half_ulp_exponent(binary64, e));
        if (!ld_ok) target = std::min(target, half_ulp_exponent(x87_extended, e));
        if (!float_ok) target = std::min(target, half_ulp_exponent(binary32, e));
        mpfr_sub(t, x.hi(), x.lo(), MPFR_RNDU);
        const long extra = mpfr_get_exp(t) - target + 24;  // bits the width is too coarse by
        long bits = precision + std::max(extra, 32L);
        if (spans_zero) bits = std::clamp(bits, 2 * precision, 8 * precision);
        // Narrow but undecided: the value sits at (or very near) a midpoint. Double once.
        needed.only_midpoint = !spans_zero && extra <= 0;
        if (needed.only_midpoint) bits = 2 * precision;
        needed.precision = (bits + 63) / 64 * 64;
    }
    mpfr_clear(mid);
    mpfr_clear(t);
    return needed;
}

}  // namespace xentcheck::oracle::detail
