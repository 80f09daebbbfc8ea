/// Internal: compensated (Neumaier) summation for the reference's real and complex scalars.
#pragma once

#include <cmath>
#include <complex>
#include <type_traits>

#include "xentcheck/batch.h"

namespace xentcheck::detail {

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
            const T t = sum_ + x;
            if (!std::isfinite(t)) {  // inf or NaN: no low-order bits left to keep
                sum_ = t;
                return;
            }
            // Keep the low-order bits lost by the addition; the larger operand is exact in t.
            if (std::abs(sum_) >= std::abs(x)) {
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
        }
    }
    T value() const {
        if constexpr (is_complex_v<T>) {
            return T(re_.value(), im_.value());
        } else {
            if (!std::isfinite(sum_)) return sum_;
            return sum_ + comp_;
        }
    }

  private:
    struct empty {};
    using part = std::conditional_t<is_complex_v<T>, accumulator<real_t<T>>, empty>;
    [[no_unique_address]] part re_{};
    [[no_unique_address]] part im_{};
    real_t<T> sum_{0};
    real_t<T> comp_{0};
};

}  // namespace xentcheck::detail
