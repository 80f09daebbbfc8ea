/// xentcheck/cross_entropy.h: cross-entropy loss and its gradient with PyTorch's semantics.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "xentcheck/batch.h"

namespace xentcheck {

/// How per-row losses are combined, as in torch.nn.functional.cross_entropy.
enum class reduction {
    none,  ///< one loss per row
    mean,  ///< sum of row losses / divisor (sum of w[t_i] over kept rows, or N for prob targets)
    sum,   ///< sum of row losses
};

/// "none", "mean" or "sum".
std::string_view to_string(reduction r) noexcept;
/// Parses "none", "mean" or "sum"; throws input_error("reduction") otherwise.
reduction parse_reduction(std::string_view name);

/// The options of F.cross_entropy other than the inputs.
struct cross_entropy_options {
    /// Class weights w (C values), or empty for all ones.
    std::span<const double> weight{};
    /// Rows whose class-index target equals this contribute nothing (index targets only; PyTorch
    /// ignores it for probability targets, and so do we).
    std::int64_t ignore_index = -100;
    /// eps in [0, 1]: targets become (1 - eps) * y + eps / C.
    double label_smoothing = 0.0;
    /// How row losses are combined.
    xentcheck::reduction reduction = reduction::mean;
    /// Threads to compute with, counting the calling thread (0 counts as 1). The others come
    /// from a team of worker threads the library starts on first use and keeps, asleep between
    /// calls; a call made while another thread's call holds the team starts threads of its own
    /// instead. A call never waits for a worker that does not come (in a forked child, for
    /// example, the calling thread does the work). Rows are dealt to the threads in chunks as
    /// they become free; a batch with fewer rows than threads splits each row's classes instead
    /// (index targets with a gradient or probability output). Small batches use fewer threads:
    /// at least 32768 logits per thread (65536 when rows are split). Whole rows give one
    /// thread's probabilities and gradient bit for bit; the loss (and split rows) may differ
    /// from one thread's in the last bits (partial sums are combined in another order), never
    /// in accuracy bounds or NaN/inf semantics. The same thread count gives the same bits on
    /// every call.
    std::size_t threads = 1;
};

/// The targets of a batch: either one class index per row, or a row-major N x C matrix of
/// target probabilities (one-hot is a probability row; rows need not be normalised, as in
/// PyTorch).
class target_view {
  public:
    /// Which of the two forms.
    enum class kind { index, probability };
    /// One class index per row, each in [0, C) or equal to ignore_index.
    static target_view indices(std::span<const std::int64_t> classes) {
        return target_view(kind::index, classes, {});
    }
    /// N x C target probabilities, row-major.
    static target_view probabilities(std::span<const double> probs) {
        return target_view(kind::probability, {}, probs);
    }
    kind form() const noexcept { return kind_; }                              ///< the form
    std::span<const std::int64_t> class_indices() const { return indices_; }  ///< index form
    std::span<const double> probs() const { return probs_; }                  ///< probability form

  private:
    target_view(kind k, std::span<const std::int64_t> i, std::span<const double> p)
        : kind_(k), indices_(i), probs_(p) {}
    kind kind_;
    std::span<const std::int64_t> indices_;
    std::span<const double> probs_;
};

/// Effective target masses of a batch: A_i = sum_j a_ij for the effective weighted target row
/// a_i (0 for ignored rows) and the divisor of the mean reduction. These set the scale of the
/// loss and gradient, so the tolerance model uses them too.
struct target_mass {
    std::vector<double> row_mass;  ///< A_i for each row
    double mean_divisor = 0;       ///< sum of w[t_i] over kept rows (index) or N (probability)
};

/// Computes the target masses of a batch; validates the targets and options like
/// cross_entropy does (throws input_error naming "target", "weight", "label_smoothing").
target_mass effective_target_mass(batch_shape shape, const target_view& target,
                                  const cross_entropy_options& options);

/// effective_target_mass(...).mean_divisor, bit for bit, with the same validation, without
/// forming (or allocating) the row masses.
double mean_divisor(batch_shape shape, const target_view& target,
                    const cross_entropy_options& options);

/// Core routine. Loss and gradient of F.cross_entropy(logits, target, **options) for the
/// row-major batch `logits` (N x `classes`).
/// - `loss`: N values for reduction none, else 1.
/// - `grad`: d loss / d logits (N x C), or empty to skip. For reduction none it is the gradient
///   of sum_i L_i. It is computed as s * (A_i p_i - a_i) (s = 1/divisor for mean, else 1) with
///   1 - p_j taken from the sum of the other exponentials, so it keeps full relative accuracy
///   where p_t -> 1.
/// - `probs`: softmax(logits) (N x C), or empty to skip.
/// Row losses are logsumexp(z) - z_t forms, finite wherever the true loss is. Non-finite input
/// follows PyTorch: a row with NaN, +inf, or only -inf gives NaN; a -inf logit where the
/// target puts mass gives +inf loss; zero target mass times a -inf logit gives NaN loss (as
/// PyTorch's 0 * -inf), while the gradient stays A p - a. Throws input_error on bad shapes or
/// options, naming "logits", "target", "weight", "label_smoothing", "loss", "grad" or "probs".
template <class T>
void cross_entropy(std::span<const T> logits, std::size_t classes, const target_view& target,
                   const cross_entropy_options& options, std::span<T> loss, std::span<T> grad,
                   std::span<T> probs = {});

/// Outputs of the convenience overload.
template <class T>
struct cross_entropy_result {
    std::vector<T> probs;  ///< softmax(logits), N x C
    std::vector<T> loss;   ///< N values (reduction none) or 1
    std::vector<T> grad;   ///< d loss / d logits, N x C
};

namespace detail {
/// Every output of a call on `logits` values, sized: probs and grad N x C, loss N (reduction
/// none) or 1. Throws input_error("logits") as make_shape does.
template <class T>
cross_entropy_result<T> sized_result(std::size_t logits, std::size_t classes, reduction r) {
    const batch_shape shape = make_shape(logits, classes);
    cross_entropy_result<T> out;
    out.probs.resize(shape.size());
    out.grad.resize(shape.size());
    out.loss.resize(r == reduction::none ? shape.rows : 1);
    return out;
}
}  // namespace detail

/// Convenience overload allocating every output.
template <class T>
cross_entropy_result<T> cross_entropy(std::span<const T> logits, std::size_t classes,
                                      const target_view& target,
                                      const cross_entropy_options& options = {}) {
    auto r = detail::sized_result<T>(logits.size(), classes, options.reduction);
    cross_entropy<T>(logits, classes, target, options, r.loss, r.grad, r.probs);
    return r;
}

/// cross_entropy computed in long double from double logits: bit for bit what
/// cross_entropy<long double> gives for the logits converted to long double (which is exact),
/// without that converted copy (a 10-byte store costs 3 to 4 ns here, more than the rest of a
/// value's exponential) and with double's vector max scan. For the long double reference of
/// problems held in double: the truth xentcheck's properties compare with. Outputs, errors
/// and semantics as cross_entropy's.
void cross_entropy_widened(std::span<const double> logits, std::size_t classes,
                           const target_view& target, const cross_entropy_options& options,
                           std::span<long double> loss, std::span<long double> grad,
                           std::span<long double> probs = {});

/// Convenience overload of cross_entropy_widened allocating every output.
cross_entropy_result<long double> cross_entropy_widened(std::span<const double> logits,
                                                        std::size_t classes,
                                                        const target_view& target,
                                                        const cross_entropy_options& options = {});

/// The long double reference of double logits as a checker compares with it: each output of
/// cross_entropy_widened rounded once to double, bit for bit, and its probabilities unrounded.
/// Index targets on one thread skip the long double gradient and probability arrays that
/// rounding them would read back (each value 10-byte stores and loads, 3 to 4 ns apiece here);
/// other calls round cross_entropy_widened's arrays. `exact_probs` (N x C long double) may be
/// empty to skip, as may `grad` and `probs`. Errors and semantics as cross_entropy's (the size
/// of `exact_probs` is checked as "exact_probs").
void cross_entropy_rounded(std::span<const double> logits, std::size_t classes,
                           const target_view& target, const cross_entropy_options& options,
                           std::span<double> loss, std::span<double> grad, std::span<double> probs,
                           std::span<long double> exact_probs = {});

/// Outputs of cross_entropy_rounded's convenience overload.
struct rounded_reference {
    std::vector<double> probs;             ///< softmax(logits), N x C, rounded to double
    std::vector<double> loss;              ///< N values (reduction none) or 1, rounded
    std::vector<double> grad;              ///< d loss / d logits, N x C, rounded
    std::vector<long double> exact_probs;  ///< the probabilities before rounding, N x C
};

/// Convenience overload of cross_entropy_rounded allocating every output.
rounded_reference cross_entropy_rounded(std::span<const double> logits, std::size_t classes,
                                        const target_view& target,
                                        const cross_entropy_options& options = {});

/// Loss only (no gradient, no probabilities): the function finite differences differentiate.
template <class T>
T cross_entropy_loss(std::span<const T> logits, std::size_t classes, const target_view& target,
                     const cross_entropy_options& options) {
    cross_entropy_options summed = options;
    if (summed.reduction == reduction::none) summed.reduction = reduction::sum;
    T loss[1];
    cross_entropy<T>(logits, classes, target, summed, std::span<T>(loss, 1), std::span<T>{});
    return loss[0];
}

}  // namespace xentcheck
