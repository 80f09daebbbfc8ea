/// Finite-difference derivatives of any scalar function of a vector.
#include "xentcheck/finite_difference.h"

#include <vector>

#include "xentcheck/batch.h"

namespace xentcheck {

long double central_difference(const scalar_function& f, std::span<const long double> x,
                               std::size_t j, long double h) {
    if (j >= x.size()) throw input_error("coordinate", "coordinate out of range");
    std::vector<long double> point(x.begin(), x.end());
    // Use the steps the arithmetic really takes, so (x + h) - x rounding does not bias the result.
    const volatile long double up = x[j] + h;
    const volatile long double down = x[j] - h;
    point[j] = up;
    const long double f_up = f(point);
    point[j] = down;
    const long double f_down = f(point);
    return (f_up - f_down) / (up - down);
}

long double directional_difference(const scalar_function& f, std::span<const long double> x,
                                   std::span<const long double> v, long double h) {
    if (v.size() != x.size()) throw input_error("direction", "direction size differs from x");
    std::vector<long double> up(x.begin(), x.end()), down(x.begin(), x.end());
    for (std::size_t k = 0; k < x.size(); ++k) {
        up[k] += h * v[k];
        down[k] -= h * v[k];
    }
    return (f(up) - f(down)) / (2 * h);
}

}  // namespace xentcheck
