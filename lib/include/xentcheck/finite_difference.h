/// xentcheck/finite_difference.h: finite-difference derivatives of any scalar function of a vector.
#pragma once

#include <cstddef>
#include <functional>
#include <span>

namespace xentcheck {

/// A scalar function of a vector, f: R^n -> R, evaluated in whatever precision it likes and
/// returned as long double. The engine never assumes it is the reference: it may wrap another
/// implementation's loss.
using scalar_function = std::function<long double(std::span<const long double>)>;

/// Central difference (f(x + h e_j) - f(x - h e_j)) / (2h) at `x` along coordinate `j`. The
/// step actually taken is (x_j + h) - x_j in long double, so representation error of the
/// perturbed point does not bias the quotient. Truncation error h^2 |f'''| / 6.
long double central_difference(const scalar_function& f, std::span<const long double> x,
                               std::size_t j, long double h);

/// Directional central difference (f(x + h v) - f(x - h v)) / (2h) along direction `v`
/// (same size as x): estimates v . grad f(x).
long double directional_difference(const scalar_function& f, std::span<const long double> x,
                                   std::span<const long double> v, long double h);

}  // namespace xentcheck
