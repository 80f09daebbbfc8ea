/// Outward-rounded interval arithmetic on MPFR numbers (see interval.h).
#include "interval.h"

#include <cassert>

namespace xentcheck::oracle::detail {

interval::interval(mpfr_prec_t precision) {
    mpfr_init2(lo_, precision);
    mpfr_init2(hi_, precision);
    mpfr_set_zero(lo_, 1);
    mpfr_set_zero(hi_, 1);
}

interval::~interval() {
    mpfr_clear(lo_);
    mpfr_clear(hi_);
}

interval::interval(const interval& other) {
    mpfr_init2(lo_, other.precision());
    mpfr_init2(hi_, other.precision());
    mpfr_set(lo_, other.lo_, MPFR_RNDD);
    mpfr_set(hi_, other.hi_, MPFR_RNDU);
}

interval& interval::operator=(const interval& other) {
    if (this != &other) {
        mpfr_set(lo_, other.lo_, MPFR_RNDD);
        mpfr_set(hi_, other.hi_, MPFR_RNDU);
    }
    return *this;
}

void interval::reset(mpfr_prec_t precision) {
    mpfr_set_prec(lo_, precision);
    mpfr_set_prec(hi_, precision);
    mpfr_set_zero(lo_, 1);
    mpfr_set_zero(hi_, 1);
}

void interval::swap(interval& other) noexcept {
    mpfr_swap(lo_, other.lo_);
    mpfr_swap(hi_, other.hi_);
}

void interval::set(double x) {
    mpfr_set_d(lo_, x, MPFR_RNDD);
    mpfr_set_d(hi_, x, MPFR_RNDU);
}

void widen_by_ternary(interval& out, int ternary) {
    mpfr_set(out.hi(), out.lo(), MPFR_RNDN);  // same precision: exact
    if (ternary > 0) {
        mpfr_nextbelow(out.lo());
    } else if (ternary < 0) {
        mpfr_nextabove(out.hi());
    }
}

namespace {

[[maybe_unused]] bool distinct(const interval& out, const interval& a) {
    return &out != &a;
}

/// min and max of the four endpoint products, rounded outward.
void general_mul(interval& out, const interval& a, const interval& b) {
    const mpfr_prec_t p = out.precision();
    mpfr_t t;
    mpfr_init2(t, p);
    mpfr_srcptr as[2] = {a.lo(), a.hi()};
    mpfr_srcptr bs[2] = {b.lo(), b.hi()};
    mpfr_mul(out.lo(), as[0], bs[0], MPFR_RNDD);
    mpfr_mul(out.hi(), as[0], bs[0], MPFR_RNDU);
    for (int i = 0; i < 2; ++i) {
        for (int j = 0; j < 2; ++j) {
            if (i == 0 && j == 0) continue;
            mpfr_mul(t, as[i], bs[j], MPFR_RNDD);
            mpfr_min(out.lo(), out.lo(), t, MPFR_RNDD);
            mpfr_mul(t, as[i], bs[j], MPFR_RNDU);
            mpfr_max(out.hi(), out.hi(), t, MPFR_RNDU);
        }
    }
    mpfr_clear(t);
}

}  // namespace

void add(interval& out, const interval& a, const interval& b) {
    assert(distinct(out, a) && distinct(out, b));
    if (a.is_point() && b.is_point()) {
        widen_by_ternary(out, mpfr_add(out.lo(), a.lo(), b.lo(), MPFR_RNDN));
        return;
    }
    mpfr_add(out.lo(), a.lo(), b.lo(), MPFR_RNDD);
    mpfr_add(out.hi(), a.hi(), b.hi(), MPFR_RNDU);
}

void sub(interval& out, const interval& a, const interval& b) {
    assert(distinct(out, a) && distinct(out, b));
    if (a.is_point() && b.is_point()) {
        widen_by_ternary(out, mpfr_sub(out.lo(), a.lo(), b.lo(), MPFR_RNDN));
        return;
    }
    mpfr_sub(out.lo(), a.lo(), b.hi(), MPFR_RNDD);
    mpfr_sub(out.hi(), a.hi(), b.lo(), MPFR_RNDU);
}

void mul(interval& out, const interval& a, const interval& b) {
    assert(distinct(out, a) && distinct(out, b));
    if (a.is_point() && b.is_point()) {
        widen_by_ternary(out, mpfr_mul(out.lo(), a.lo(), b.lo(), MPFR_RNDN));
        return;
    }
    if (a.nonnegative() && b.nonnegative()) {
        mpfr_mul(out.lo(), a.lo(), b.lo(), MPFR_RNDD);
        mpfr_mul(out.hi(), a.hi(), b.hi(), MPFR_RNDU);
        return;
    }
    general_mul(out, a, b);
}

void div(interval& out, const interval& a, const interval& b) {
    assert(distinct(out, a) && distinct(out, b));
    assert(b.positive() || b.negative());
    if (a.is_point() && b.is_point()) {
        widen_by_ternary(out, mpfr_div(out.lo(), a.lo(), b.lo(), MPFR_RNDN));
        return;
    }
    if (b.negative()) {  // a / b = (-a) / (-b), with -b positive
        interval na(a.precision()), nb(b.precision());
        mpfr_neg(na.lo(), a.hi(), MPFR_RNDD);
        mpfr_neg(na.hi(), a.lo(), MPFR_RNDU);
        mpfr_neg(nb.lo(), b.hi(), MPFR_RNDD);
        mpfr_neg(nb.hi(), b.lo(), MPFR_RNDU);
        div(out, na, nb);
        return;
    }
    // b > 0: a non-negative a is smallest over b's largest value; a non-positive one over b's
    // smallest; a mixed one reaches both extremes over b's smallest value.
    if (a.nonnegative()) {
        mpfr_div(out.lo(), a.lo(), b.hi(), MPFR_RNDD);
        mpfr_div(out.hi(), a.hi(), b.lo(), MPFR_RNDU);
    } else if (mpfr_sgn(a.hi()) <= 0) {
        mpfr_div(out.lo(), a.lo(), b.lo(), MPFR_RNDD);
        mpfr_div(out.hi(), a.hi(), b.hi(), MPFR_RNDU);
    } else {
        mpfr_div(out.lo(), a.lo(), b.lo(), MPFR_RNDD);
        mpfr_div(out.hi(), a.hi(), b.lo(), MPFR_RNDU);
    }
}

void exp(interval& out, const interval& a) {
    assert(distinct(out, a));
    if (a.is_point()) {
        widen_by_ternary(out, mpfr_exp(out.lo(), a.lo(), MPFR_RNDN));
        return;
    }
    mpfr_exp(out.lo(), a.lo(), MPFR_RNDD);
    mpfr_exp(out.hi(), a.hi(), MPFR_RNDU);
}

void log(interval& out, const interval& a) {
    assert(distinct(out, a) && a.positive());
    if (a.is_point()) {
        widen_by_ternary(out, mpfr_log(out.lo(), a.lo(), MPFR_RNDN));
        return;
    }
    mpfr_log(out.lo(), a.lo(), MPFR_RNDD);
    mpfr_log(out.hi(), a.hi(), MPFR_RNDU);
}

void midpoint(mpfr_ptr mid, const interval& a) {
    mpfr_add(mid, a.lo(), a.hi(), MPFR_RNDN);
    mpfr_div_2ui(mid, mid, 1, MPFR_RNDN);
}

}  // namespace xentcheck::oracle::detail
