/// Internal: compensated (Neumaier) summation for the reference's real and complex scalars.
#pragma once

#include <cmath>
#include <complex>
#include <limits>
#include <type_traits>

#include "xentcheck/batch.h"

namespace xentcheck::detail {

/// std::isfinite(x) for a real x, written as x - x == 0: the same answer (inf - inf and NaN are
/// NaN, unequal to everything), without a constant: isfinite compares |x| with the largest
/// value, which for long double the x87 unit loads from 10 bytes in several micro-ops, in every
/// loop that sums (GCC loads long double infinity from 10 bytes as well).
template <class R>
bool finite_value(R x) {
    return x - x == R(0);
}

/// The exact rounding error of s = fl(a + b) (Knuth's TwoSum: a + b = s + error exactly, for
/// either order of magnitudes, unless an intermediate overflows, which makes it inf or NaN).
template <class R>
R two_sum_error(R a, R b, R s) {
    const R b_part = s - a;
    return (a - (s - b_part)) + (b - b_part);
}

/// exp(d + err) from ed = exp(d) and the exact error err of the rounded shift d (TwoSum, |err| at
/// most ulp(d) / 2): ed (1 + err), to second order. ed itself where err is 0 (the usual case:
/// the product would give ed back), where err is not finite (d = -inf), and where ed is 0: d
/// near -1e300 has an err near -1e284, and 0 (1 + err) would be -0, a probability of -0 where
/// PyTorch gives 0. The one rule for the scalar rows and the vector kernels' slow lanes.
template <class T, class R>
T exp_with_shift_error(const T& ed, R err) {
    if (err == R(0) || !finite_value(err) || ed == T(0)) return ed;
    return ed * (R(1) + err);
}

/// Compensated (Neumaier) summation. Complex values are compensated in their real and
/// imaginary parts separately, so a complex-step derivative (the imaginary part) keeps a few
/// ulps of accuracy at large class counts too.
template <class T>
class accumulator {
  public:
    void add(T x) {
        if constexpr (is_complex_v<T>) {
            re_.add(x.real());
            im_.add(x.imag());
        } else {
            if constexpr (x87_real<T>) {
                // An infinite term is noted, not added: x87 arithmetic on an infinity is a
                // microcode assist (0.2 to 1 us each here), and with one in the sum every later
                // step would pay it. value() gives what adding it would have.
                if (x == infinity) {
                    positive_infinity_ = true;
                    return;
                }
                if (x == -infinity) {
                    negative_infinity_ = true;
                    return;
                }
            }
            const T t = sum_ + x;
            if (!finite_value(t)) {  // inf or NaN: no low-order bits left to keep
                sum_ = t;
                return;
            }
            // Keep the low-order bits lost by the addition: TwoSum's exact error, which needs no
            // comparison of magnitudes (a branch on them mispredicts on mixed terms, and waits
            // for a term just computed, the long x87 exp for the reference's rows). The error is
            // exact either way, so the sum is the same bits as with the comparison, which stays
            // for the one case TwoSum cannot take: an intermediate beyond the largest value.
            const T err = two_sum_error(sum_, x, t);
            if (finite_value(err)) {
                comp_ += err;
            } else if (std::abs(sum_) >= std::abs(x)) {
                comp_ += (sum_ - t) + x;
            } else {
                comp_ += (x - t) + sum_;
            }
            sum_ = t;
        }
    }
    /// Adds another accumulator's partial sum (a combine step of a split sum).
    void add(const accumulator& other) {
        if constexpr (is_complex_v<T>) {
            re_.add(other.re_);
            im_.add(other.im_);
        } else {
            add(other.sum_);
            add(other.comp_);
            positive_infinity_ |= other.positive_infinity_;
            negative_infinity_ |= other.negative_infinity_;
        }
    }
    /// An accumulator holding the sum `sum` and the compensation `comp` (real T): what adding
    /// values one by one left in them.
    static accumulator from_parts(T sum, T comp) {
        accumulator a;
        a.sum_ = sum;
        a.comp_ = comp;
        return a;
    }
    T value() const {
        if constexpr (is_complex_v<T>) {
            return T(re_.value(), im_.value());
        } else {
            // Quiet comparisons rather than finite_value's sum_ - sum_ (see add()).
            const T finite_part =
                sum_ != sum_ || sum_ == infinity || sum_ == -infinity ? sum_ : sum_ + comp_;
            if (!positive_infinity_ && !negative_infinity_) return finite_part;
            // The noted infinities, as the additions would have met them: a NaN among the terms
            // stays; infinities of both signs (an overflow's among them) give x87's invalid
            // result, the negative quiet NaN; otherwise the infinity. (The one difference: a
            // sum of finite long doubles that overflows only in another order, beyond 10^4932.)
            if (finite_part != finite_part) return finite_part;
            const T noted = positive_infinity_ ? infinity : -infinity;
            if ((positive_infinity_ && negative_infinity_) || finite_part == -noted) {
                return -std::numeric_limits<T>::quiet_NaN();
            }
            return noted;
        }
    }

  private:
    /// Whether infinities are noted rather than added: x87 long double, the type whose
    /// arithmetic on them is slow.
    template <class U>
    static constexpr bool x87_real =
        std::is_same_v<U, long double>&& std::numeric_limits<long double>::digits == 64;
    static constexpr real_t<T> infinity = std::numeric_limits<real_t<T>>::infinity();

    struct empty {};
    using part = std::conditional_t<is_complex_v<T>, accumulator<real_t<T>>, empty>;
    [[no_unique_address]] part re_{};
    [[no_unique_address]] part im_{};
    real_t<T> sum_{0};
    real_t<T> comp_{0};
    bool positive_infinity_ = false;  ///< a +inf term was noted (x87 long double only)
    bool negative_infinity_ = false;  ///< a -inf term was noted (x87 long double only)
};

/// The accumulator of f(0), ..., f(n - 1) added in order: the same bits as adding them one by
/// one. Real values are summed first without add()'s tests for inf and NaN (two comparisons and
/// branches per value, as much as the sum itself in long double) and summed again with them
/// only when the sum or its compensation is not finite, which any non-finite step makes it:
/// where every step is finite, add() takes exactly the steps below.
template <class T, class F>
accumulator<T> compensated_sum_of(std::size_t n, F f) {
    if constexpr (!is_complex_v<T>) {
        T sum{0}, comp{0};
        for (std::size_t j = 0; j < n; ++j) {
            const T x = f(j);
            const T t = sum + x;
            comp += two_sum_error(sum, x, t);
            sum = t;
        }
        if (finite_value(sum) && finite_value(comp)) return accumulator<T>::from_parts(sum, comp);
    }
    accumulator<T> a;
    for (std::size_t j = 0; j < n; ++j)
        a.add(f(j));
    return a;
}

}  // namespace xentcheck::detail
