/// xentcheck/batch.h: batch shapes, scalar traits and the input error shared by the reference.
#pragma once

#include <complex>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace xentcheck {

/// Raised when the arguments of a reference routine are invalid (shape, target range, option
/// domain). `field()` names the argument at fault ("logits", "target", "weight", ...), so a
/// caller can point at the offending field of its own input.
class input_error : public std::invalid_argument {
  public:
    /// `field`: the argument at fault; `message`: what is wrong with it.
    input_error(std::string field, const std::string& message)
        : std::invalid_argument(message), field_(std::move(field)) {}
    /// The argument at fault.
    const std::string& field() const noexcept { return field_; }

  private:
    std::string field_;
};

/// Shape of a contiguous row-major batch: `rows` rows (samples) of `classes` logits each.
struct batch_shape {
    std::size_t rows = 0;     ///< N, the number of samples
    std::size_t classes = 0;  ///< C, the number of classes (>= 1)
    /// Number of elements, N * C.
    std::size_t size() const noexcept { return rows * classes; }
};

/// Shape of a batch of `size` values with `classes` per row. Throws input_error("logits") when
/// `classes` is 0 or does not divide `size`.
batch_shape make_shape(std::size_t size, std::size_t classes);

namespace detail {
template <class T>
struct real_of {
    using type = T;
};
template <class T>
struct real_of<std::complex<T>> {
    using type = T;
};
template <class T>
inline constexpr bool is_complex_v = !std::is_same_v<typename real_of<T>::type, T>;
}  // namespace detail

/// The real type under scalar T: T itself, or V for std::complex<V>.
template <class T>
using real_t = typename detail::real_of<T>::type;

namespace detail {
/// Real part of a scalar (the value itself for real types). Comparisons, max-subtraction and
/// NaN/inf classification use it, so complex-step differentiation follows the real path.
template <class T>
constexpr real_t<T> re(const T& x) {
    if constexpr (is_complex_v<T>) {
        return x.real();
    } else {
        return x;
    }
}
}  // namespace detail

/// Unit roundoff u = epsilon / 2 of the real type under T (2^-24 for float, 2^-53 for double).
template <class T>
constexpr double unit_roundoff() {
    return static_cast<double>(std::numeric_limits<real_t<T>>::epsilon()) / 2;
}

}  // namespace xentcheck
