/// xentcheck/properties/implementation.h: the interface every checked implementation offers.
#pragma once

#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "xentcheck/properties/problem.h"

namespace xentcheck::properties {

/// What an implementation computes for a problem, widened to double.
struct outputs {
    std::vector<double> probs;  ///< softmax(logits), N x C
    std::vector<double> loss;   ///< N values (reduction none) or 1
    std::vector<double> grad;   ///< d loss / d logits, N x C (of the summed loss for none)
};

/// Raised by an implementation that cannot evaluate a problem (crash of an external process,
/// malformed reply, unsupported option). Properties report it as a failure with its message.
class evaluation_error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// One problem's result in a batch: the outputs, or why the implementation gave none.
struct attempt {
    bool ok = false;    ///< whether `values` holds the implementation's outputs
    outputs values;     ///< the outputs (when ok)
    std::string error;  ///< why there are none (when not ok)
};

/// Something that computes softmax + cross-entropy: the reference, a planted-bug variant, or
/// (in the CLI) a wrapper around another program or library. Properties call evaluate() one or
/// more times per problem; it may throw (any std::exception counts as a failure).
class implementation {
  public:
    virtual ~implementation() = default;
    /// A short name for reports.
    virtual std::string name() const = 0;
    /// Outputs for the problem, computed at p.dtype.
    virtual outputs evaluate(const problem& p) = 0;
    /// The same outputs, shared: what properties call. An implementation that remembers its
    /// answers returns the remembered one without copying it (an (8, 128000) answer is 16 MB
    /// and a run asks for it in every property). The default wraps evaluate().
    virtual std::shared_ptr<const outputs> evaluate_shared(const problem& p);
    /// Outputs for several problems, each evaluated afresh and in order: an implementation that
    /// remembers earlier answers to evaluate() must not serve these from memory (properties ask
    /// the same problem twice to test determinism). An external implementation pipelines them
    /// (finite-difference batches). Never throws for a problem's failure: it becomes that
    /// problem's attempt. The default calls evaluate() for each problem.
    virtual std::vector<attempt> evaluate_batch(std::span<const problem> problems);
    /// evaluate_batch() of `times` copies of `p`: the same problem asked again, back to back,
    /// never from memory. An external implementation sends it without copying the problem
    /// (an (8, 128000) problem is 8 MB a copy). The default copies it.
    virtual std::vector<attempt> evaluate_repeated(const problem& p, std::size_t times);
};

/// The truth: lib's reference evaluated in long double and rounded to double, whatever
/// p.dtype is (float32 problems are float-exact, so this is the exact answer rounded once).
/// Checked values of dtype T are held to it under the tolerance model with unit_roundoff<T>().
/// Properties ask it for the same problems again and again, so the answers to recent problems
/// are remembered (with what else properties derive from a problem alone, up to 128 MiB, least
/// recently used dropped first; thread-safe); this returns a copy of the remembered answer.
outputs reference_outputs(const problem& p);

/// lib's reference as an implementation.
class reference_implementation final : public implementation {
  public:
    /// Which arithmetic the reference uses for a problem.
    enum class arithmetic {
        /// float64 problems in long double (rounded to double); float32 problems in float, as
        /// a float32 implementation would compute them.
        standard,
        /// At the problem's dtype: double for float64, float for float32.
        native,
    };
    /// The reference in the given arithmetic.
    explicit reference_implementation(arithmetic a = arithmetic::standard) : arithmetic_(a) {}
    /// "reference" or "reference (native precision)".
    std::string name() const override;
    /// lib's cross_entropy in the chosen arithmetic, widened to double.
    outputs evaluate(const problem& p) override;

  private:
    arithmetic arithmetic_;
};

}  // namespace xentcheck::properties
