/// Closed intervals of MPFR numbers with outward rounding: the oracle's enclosure arithmetic.
#pragma once

#include <mpfr.h>

namespace xentcheck::oracle::detail {

/// A closed interval [lo, hi] of real numbers with finite MPFR endpoints at one precision.
/// Every operation rounds lo down and hi up, so the exact result of the same operation on any
/// points of the operands lies inside. Point operands (lo == hi) take one correctly rounded
/// operation and widen by the ternary value, which keeps the common exact-input case cheap.
class interval {
  public:
    /// [0, 0] at `precision` bits.
    explicit interval(mpfr_prec_t precision);
    ~interval();
    interval(const interval& other);
    interval& operator=(const interval& other);

    mpfr_srcptr lo() const { return lo_; }                        ///< lower endpoint
    mpfr_srcptr hi() const { return hi_; }                        ///< upper endpoint
    mpfr_ptr lo() { return lo_; }                                 ///< lower endpoint, writable
    mpfr_ptr hi() { return hi_; }                                 ///< upper endpoint, writable
    mpfr_prec_t precision() const { return mpfr_get_prec(lo_); }  ///< working precision, bits
    /// Changes the precision; the value becomes [0, 0].
    void reset(mpfr_prec_t precision);
    /// Exchanges two intervals (precisions included) in O(1).
    void swap(interval& other) noexcept;

    /// The point x (exact: precision >= 53).
    void set(double x);
    /// lo == hi.
    bool is_point() const { return mpfr_equal_p(lo_, hi_) != 0; }
    /// The point 0.
    bool is_zero() const { return mpfr_zero_p(lo_) && mpfr_zero_p(hi_); }
    /// lo > 0.
    bool positive() const { return mpfr_sgn(lo_) > 0; }
    /// hi < 0.
    bool negative() const { return mpfr_sgn(hi_) < 0; }
    /// lo >= 0.
    bool nonnegative() const { return mpfr_sgn(lo_) >= 0; }

  private:
    mpfr_t lo_;
    mpfr_t hi_;
};

/// Sets `out` to the point just computed into out.lo() with ternary value `ternary` (0: exact,
/// > 0: rounded up, < 0: rounded down), widened to enclose the exact value.
void widen_by_ternary(interval& out, int ternary);

void add(interval& out, const interval& a, const interval& b);  ///< a + b
void sub(interval& out, const interval& a, const interval& b);  ///< a - b
void mul(interval& out, const interval& a, const interval& b);  ///< a * b, any signs
/// a / b for b not containing 0 (b.lo() > 0 or b.hi() < 0).
void div(interval& out, const interval& a, const interval& b);
void exp(interval& out, const interval& a);  ///< e^a
/// ln a for a.lo() > 0.
void log(interval& out, const interval& a);
/// The midpoint (lo + hi) / 2 into `mid`, rounded to nearest at mid's precision.
void midpoint(mpfr_ptr mid, const interval& a);

}  // namespace xentcheck::oracle::detail
