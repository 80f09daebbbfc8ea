/// xentcheck/finite_difference.h: finite-difference derivatives with error estimates, and verdicts.
#pragma once

#include <complex>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "xentcheck/tolerance.h"

namespace xentcheck {

// The engine differentiates any function of a vector; it never assumes it is the reference, so
// it can check another implementation's loss against that implementation's gradient. Every
// estimate carries an error estimate E = truncation + noise, where the noise part propagates a
// bound on the evaluation error of f (declared by the caller, and measured; the larger is used).
// docs/finite-differences.md derives each error model and reports measured accuracy.

/// A scalar function of a vector, f: R^n -> R, evaluated in whatever precision it likes and
/// returned as long double. The engine never assumes it is the reference: it may wrap another
/// implementation's loss.
using scalar_function = std::function<long double(std::span<const long double>)>;

/// A vector function G: R^n -> R^m (for instance a gradient), writing its m outputs to `out`.
/// Also used for linear maps such as a Hessian-vector product v -> H v.
using vector_function =
    std::function<void(std::span<const long double> x, std::span<long double> out)>;

/// f extended to complex arguments, for complex-step differentiation: f must be a real-analytic
/// function evaluated with complex arithmetic (e.g. xentcheck::cross_entropy_loss over
/// std::complex<double>), so that Im f(x + i h e_j) / h = df/dx_j + O(h^2).
using complex_function = std::function<std::complex<double>(std::span<const std::complex<double>>)>;

/// Central difference (f(x + h e_j) - f(x - h e_j)) / (2h) at `x` along coordinate `j`. The
/// step actually taken is (x_j + h) - x_j in long double, so representation error of the
/// perturbed point does not bias the quotient. Truncation error h^2 |f'''| / 6.
long double central_difference(const scalar_function& f, std::span<const long double> x,
                               std::size_t j, long double h);

/// Directional central difference (f(x + h v) - f(x - h v)) / (2h) along direction `v`
/// (same size as x): estimates v . grad f(x).
long double directional_difference(const scalar_function& f, std::span<const long double> x,
                                   std::span<const long double> v, long double h);

/// Bound on the absolute error of one evaluation of a function whose value is v:
/// |computed - exact| <= absolute + relative * |v|.
struct evaluation_noise {
    long double absolute = 0;  ///< in the units of the function value
    long double relative = 0;  ///< a multiple of |v|
    /// The bound at a value v.
    long double at(long double value) const noexcept;
    /// The loss tolerance of the tolerance model is such a bound: from(model.loss()).
    static evaluation_noise from(const tolerance& t) noexcept { return {t.atol, t.rtol}; }
};

/// How the engine samples f. Steps are in the units of x.
struct difference_options {
    /// Declared evaluation error of f (for another implementation's loss at float32 or float64,
    /// tolerance_model::loss() of that dtype). Steps and error estimates use
    /// max(declared, measured) when measure_noise is set.
    evaluation_noise noise{};
    /// Also measure the noise of f near x (difference tables of f along a line, Moré & Wild's
    /// ECnoise), and use 4 sigma of it when it exceeds the declared bound. Costs 17 evaluations
    /// per measurement; a gradient check measures once.
    bool measure_noise = true;
    /// Mantissa digits of the type f reads its input in (24 for float, 53 for double); 0 means
    /// long double. Perturbed points are rounded to that grid, so the steps the engine divides
    /// by are the steps f really sees. x itself should already lie on the grid.
    int input_digits = 0;
    /// L: the distance over which the derivative of f changes appreciably (1 for logits; about
    /// |x| for a polynomial in x). Ridders starts at h = L / max_k |v_k| (each coordinate moves
    /// at most L); central differences take steps <= L.
    long double length_scale = 1;
    /// Bound on |f'''| along the direction, for the central step; 0 means estimate it from a
    /// third difference at the length scale.
    long double third_derivative = 0;
    /// Rows of the Ridders tableau (steps h0, h0 / r, ..., h0 / r^(levels-1)).
    std::size_t max_levels = 10;
    /// r, the ratio of successive Ridders steps.
    long double step_ratio = 2;
    /// Seed of the random directions drawn by the engine (noise measurement, directional checks).
    std::uint64_t seed = 0x5eedf00d;
};

/// A derivative estimate and its error estimate: |value - true derivative| <= error is what the
/// method's error model predicts (not a proof).
struct derivative_estimate {
    long double value = 0;        ///< the estimate; NaN when no finite difference was possible
    long double error = 0;        ///< E = truncation + noise (inf when value is NaN)
    long double truncation = 0;   ///< estimated truncation (discretisation) error
    long double noise = 0;        ///< propagated bound on the evaluation noise of f
    long double step = 0;         ///< the step h of the chosen estimate
    std::size_t evaluations = 0;  ///< evaluations of f spent (excluding a noise measurement)
};

/// The measured noise of f near x (or of each output of a vector function).
struct noise_estimate {
    long double sigma = 0;        ///< estimated standard deviation of the evaluation error
    int order = 0;                ///< difference order where noise was detected (0: not detected)
    long double step = 0;         ///< spacing of the sampled points
    std::size_t evaluations = 0;  ///< evaluations spent
    /// The bound the engine uses: 4 sigma.
    long double bound() const noexcept { return 4 * sigma; }
};

/// Measures the noise of f along the line x + t v (v need not be unit): 17 evaluations at spacing
/// delta, difference table of orders 1..8, sigma_k = sqrt(gamma_k * mean((Delta^k f)^2)) with
/// gamma_k = (k!)^2 / (2k)!; noise is detected at the first order where three consecutive
/// sigma_k agree within a factor 4 and Delta^k changes sign. delta starts at 2^-10 L / max|v_k|
/// and is adapted: /64 when smooth terms dominate, x64 when f is constant on the grid, but never
/// beyond L / (8 max|v_k|), so the samples stay within the range the differences use (constant
/// there: sigma 0). When noise is never detected, the smallest sigma_k is returned as an upper
/// estimate (order 0).
noise_estimate measure_noise(const scalar_function& f, std::span<const long double> x,
                             std::span<const long double> v, const difference_options& options);

/// The same for each of the `outputs` outputs of g, from shared evaluations; writes `out`.
void measure_noise(const vector_function& g, std::size_t outputs, std::span<const long double> x,
                   std::span<const long double> v, const difference_options& options,
                   std::span<noise_estimate> out);

/// Central difference with a chosen step. Error model: truncation h^2 |f'''| / 6 plus noise
/// e_f / h (two evaluations each off by e_f). Step h = cbrt(3 e_f / |f'''|), which minimises
/// their sum, clamped to [2^12 ulp of the input grid, L]. The error estimate is
/// |D(h) - D(2h)| / 3 (the h^2 term, measured) + e_f / h. Costs 4 (or 8 without
/// third_derivative) evaluations plus the noise measurement.
derivative_estimate central_derivative(const scalar_function& f, std::span<const long double> x,
                                       std::size_t j, const difference_options& options);

/// Directional form: estimates v . grad f(x). `gradient_guess`, when given (size n), corrects
/// the first-order effect of rounding the perturbed points to the input grid:
/// guess . ((x_+ - x_-) / 2h - v). Errors in the guess enter only through that tiny correction.
derivative_estimate central_derivative(const scalar_function& f, std::span<const long double> x,
                                       std::span<const long double> v,
                                       const difference_options& options,
                                       std::span<const long double> gradient_guess = {});

/// Richardson extrapolation by Ridders' method: central differences at h_i = h0 / r^i (h0 = L,
/// r = step_ratio), Neville tableau A_ij eliminating h^2, h^4, ... with the steps really taken.
/// Error model of entry A_ij: noise e_f / h_i propagated through the tableau with the absolute
/// values of its coefficients, plus a truncation estimate: the largest difference from the
/// entries it came from (A_i,j-1, A_i-1,j-1: Ridders), from the same order one step back and
/// one step on (A_i-1,j, A_i+1,j) and from A_i+1,j+1. The entry with the smallest sum is
/// returned; the tableau stops when noise alone exceeds the spread of the previous row. Up to
/// 2 * max_levels evaluations. Measured: 1e-17 relative for smooth f evaluated in long double,
/// estimates 2.5x or more above the true error (docs/finite-differences.md).
derivative_estimate richardson_derivative(const scalar_function& f, std::span<const long double> x,
                                          std::size_t j, const difference_options& options);

/// Directional form, estimating v . grad f(x); `gradient_guess` as for central_derivative.
derivative_estimate richardson_derivative(const scalar_function& f, std::span<const long double> x,
                                          std::span<const long double> v,
                                          const difference_options& options,
                                          std::span<const long double> gradient_guess = {});

/// Which real finite-difference method a check uses.
enum class fd_method { central, richardson };

/// Core gradient routine: estimates every partial derivative of f at x with `method` into `out`
/// (size n), measuring the noise of f once. Non-finite x_j give NaN with infinite error.
void finite_difference_gradient(const scalar_function& f, std::span<const long double> x,
                                fd_method method, const difference_options& options,
                                std::span<derivative_estimate> out);

/// Convenience overload returning the estimates.
std::vector<derivative_estimate> finite_difference_gradient(const scalar_function& f,
                                                            std::span<const long double> x,
                                                            fd_method method,
                                                            const difference_options& options);

/// Core Jacobian-vector routine: Ridders estimates of d/dt G(x + t v) at t = 0 for each of the
/// `outputs` outputs of g, into `out` (size outputs). Noise is measured per output.
void richardson_jacobian_vector(const vector_function& g, std::size_t outputs,
                                std::span<const long double> x, std::span<const long double> v,
                                const difference_options& options,
                                std::span<derivative_estimate> out);

/// Complex-step options.
struct complex_step_options {
    /// h: Im f(x + i h e_j) / h has truncation h^2 |f'''| / 6, which underflows to 0 at 1e-200.
    double step = 1e-200;
    /// Rounding error of the derivative, which complex step computes like forward-mode
    /// differentiation in double: bound absolute + relative |value|. No subtraction of nearby
    /// values occurs, so this does not grow as h shrinks. For the reference loss pass the
    /// gradient tolerance instead (derivative_error).
    evaluation_noise derivative_noise{0, 4 * 0x1p-52L};
    /// Per-coordinate bound on that rounding error (size n), replacing derivative_noise.
    std::span<const long double> derivative_error{};
};

/// Complex-step derivative along coordinate j at the real point x: Im f(x + i h e_j) / h. One
/// evaluation. Error estimate: the declared derivative rounding bound (truncation is nil).
derivative_estimate complex_step_derivative(const complex_function& f, std::span<const double> x,
                                            std::size_t j, const complex_step_options& options);

/// Core gradient routine for the complex step: all n partial derivatives into `out`.
void complex_step_gradient(const complex_function& f, std::span<const double> x,
                           const complex_step_options& options, std::span<derivative_estimate> out);

/// Convenience overload returning the estimates.
std::vector<derivative_estimate> complex_step_gradient(const complex_function& f,
                                                       std::span<const double> x,
                                                       const complex_step_options& options = {});

/// The outcome of comparing an analytic derivative with a finite-difference estimate.
enum class decision {
    pass,          ///< agrees, and the estimate was sharp enough to see an error of the resolution
    fail,          ///< differs by more than the estimate's error plus the analytic tolerance
    inconclusive,  ///< agrees, but the estimate is too wide to resolve an error of the resolution
};

/// "pass", "fail" or "inconclusive".
std::string_view to_string(decision d) noexcept;

/// One compared value (a partial derivative, a directional derivative, or an entry of H v).
struct derivative_verdict {
    std::size_t index = 0;             ///< coordinate, direction number, or column * n + row
    long double estimate = 0;          ///< finite-difference value
    long double error_estimate = 0;    ///< E, the method's error estimate
    long double analytic = 0;          ///< the value checked
    long double analytic_error = 0;    ///< a, the tolerance of the analytic value
    long double difference = 0;        ///< |estimate - analytic|
    long double detectable = 0;        ///< 2E + a: an error larger than this cannot pass
    long double resolution = 0;        ///< the error size the check had to be able to detect
    long double miss_probability = 0;  ///< directional checks: chance to miss an error >= rho
    xentcheck::decision decision = decision::inconclusive;  ///< the verdict
    std::string reason;                                     ///< why, in one sentence
};

/// Decides one comparison. fail if |estimate - analytic| > E + a; else inconclusive if
/// 2E + a > resolution (an error of the resolution could have hidden in the estimate's
/// uncertainty) or the estimate is not finite; else pass.
derivative_verdict judge(const derivative_estimate& estimate, long double analytic,
                         long double analytic_error, long double resolution);

/// What a check is asked to resolve.
struct verdict_options {
    /// Absolute resolution: the size of error the check must be able to see. 0: the relative
    /// resolution below times the scale (max |g_j| for coordinate checks, |g|_2 for directional
    /// checks, max |(H v)_k| for Hessian checks).
    long double resolution = 0;
    /// Relative resolution used when `resolution` is 0.
    long double resolution_rtol = 1e-3;
    /// Tolerance of the analytic values: one value for all entries, or one per entry (size n);
    /// empty means exact. For a float32 gradient, tolerance_model::grad().bound(magnitude_j).
    std::span<const long double> analytic_error{};
    /// Coordinates to check (empty: all); for coordinate checks only.
    std::span<const std::size_t> coordinates{};
    /// Directional checks: overall pass needs the bound on the chance that every direction
    /// missed an error of 2-norm >= resolution to be at most this.
    long double max_miss_probability = 1e-6;
};

/// The outcome of a derivative check over many values.
struct derivative_check {
    xentcheck::decision decision = decision::inconclusive;  ///< fail > inconclusive > pass
    std::string reason;                                     ///< a one-line summary
    std::vector<derivative_verdict> entries;                ///< every compared value
    std::size_t passed = 0, failed = 0, inconclusive = 0;   ///< counts over entries
    std::size_t skipped = 0;           ///< non-finite coordinates (no derivative to check)
    long double noise_declared = 0;    ///< declared e_f at f(x) (Hessian: largest output)
    long double noise_measured = 0;    ///< measured bound (4 sigma) at x, 0 when not measured
    long double miss_probability = 0;  ///< directional: product of the per-direction bounds
    std::size_t evaluations = 0;       ///< evaluations of f (or G), noise measurement included
    /// The entry with the largest difference / (E + a), if any.
    const derivative_verdict* worst() const noexcept;
};

/// Checks each partial derivative `gradient` (size n) of f at x with `method`.
derivative_check check_gradient(const scalar_function& f, std::span<const long double> x,
                                std::span<const long double> gradient, fd_method method,
                                const difference_options& options, const verdict_options& verdict);

/// Checks each partial derivative with the complex step of f (error: options' derivative bound).
derivative_check check_gradient_complex_step(const complex_function& f, std::span<const double> x,
                                             std::span<const long double> gradient,
                                             const complex_step_options& options,
                                             const verdict_options& verdict);

/// Random directions for directional checks.
enum class direction_kind {
    sphere,      ///< uniform on the unit sphere (normalised Gaussian)
    rademacher,  ///< entries +-1/sqrt(n), independent signs
};

/// Upper bound on P(|v . e| < tau |e|_2) for a random unit direction v in R^n and any fixed
/// e != 0. sphere: tau sqrt(2 (n - 1) / pi) for n >= 3 (density of one coordinate of a uniform
/// point of S^(n-1) is at most Gamma(n/2) / (sqrt(pi) Gamma((n-1)/2)) < sqrt((n-1) / (2 pi))),
/// (2/pi) asin(tau) for n = 2, 0 for n = 1 and tau < 1. rademacher: with theta = tau sqrt(n),
/// 1 - (1 - theta^2)^2 / 3 (Paley-Zygmund, E X^4 <= 3 (E X^2)^2). Capped at 1.
double directional_miss_probability(std::size_t n, double tau, direction_kind kind) noexcept;

/// Checks `gradient` along `directions` random directions with Ridders differences (corrected
/// for input rounding with the gradient itself). Direction i judges v_i . g; an error e with
/// |e|_2 >= rho (the resolution) escapes it only if |v_i . e| <= 2E + a, which has probability
/// q_i <= directional_miss_probability(n, (2E + a) / rho). Overall: fail if any direction
/// fails, pass if prod q_i <= max_miss_probability, else inconclusive. Non-finite x_k get v_k = 0.
derivative_check check_gradient_directional(const scalar_function& f,
                                            std::span<const long double> x,
                                            std::span<const long double> gradient,
                                            std::size_t directions, direction_kind kind,
                                            const difference_options& options,
                                            const verdict_options& verdict);

/// Second-order check (like gradgradcheck): compares H v, from `hessian_vector` (v -> H v), with
/// Ridders differences of the gradient function `gradient` along v, entry by entry. v runs over
/// the coordinate vectors (verdict.coordinates, or all when n <= max_columns) or else over
/// `max_columns` random unit directions. Entry index = column * n + output. `options.noise` is
/// the declared noise of each gradient output; verdict.analytic_error applies to each (H v)_k.
derivative_check check_hessian(const vector_function& gradient, std::span<const long double> x,
                               const vector_function& hessian_vector,
                               const difference_options& options, const verdict_options& verdict,
                               std::size_t max_columns = 64);

/// Convenience overload with a dense symmetric Hessian (n x n, row-major).
derivative_check check_hessian(const vector_function& gradient, std::span<const long double> x,
                               std::span<const long double> hessian,
                               const difference_options& options, const verdict_options& verdict,
                               std::size_t max_columns = 64);

}  // namespace xentcheck
