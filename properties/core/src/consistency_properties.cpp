/// Reference-free consistency: the gradient against differences of the same loss; determinism.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "problem_facts.h"
#include "support.h"
#include "xentcheck/finite_difference.h"

namespace xentcheck::properties {

namespace {

using ld = long double;

/// The largest |logit| differenced: beyond it 2^12 grid steps of the dtype exceed 1/16 of a
/// logit unit, so no step small enough for the truncation bound fits on the input grid.
double largest_differenced(scalar_type t) {
    return t == scalar_type::float32 ? 128.0 : 0x1p36;
}

/// Σ of the loss values (the function whose gradient `grad` is, for every reduction).
ld summed(const std::vector<double>& loss) {
    ld total = 0;
    for (const double v : loss)
        total += v;
    return total;
}

/// A value's description for messages.
std::string num(ld x) {
    return show_number(static_cast<double>(x));
}

/// Up to four coordinates worth differencing: the largest logit and the target class of the
/// first row, the largest logit and the last class of the last row (free coordinates only).
std::vector<std::size_t> sampled_coordinates(const problem& p, const std::vector<bool>& free) {
    std::set<std::size_t> picked;
    const std::size_t c = p.classes;
    for (const std::size_t i : {std::size_t{0}, p.rows - 1}) {
        std::size_t best = c;
        for (std::size_t j = 0; j < c; ++j) {
            if (free[i * c + j] && (best == c || p.logits[i * c + j] > p.logits[i * c + best]))
                best = j;
        }
        std::vector<std::size_t> columns{best};
        if (i == 0 && p.kind() == target_kind::index && !p.row_ignored(0))
            columns.push_back(static_cast<std::size_t>(p.target_indices()[0]));
        if (i + 1 == p.rows) columns.push_back(c - 1);
        for (const std::size_t j : columns) {
            if (j < c && free[i * c + j] && picked.size() < 4) picked.insert(i * c + j);
        }
    }
    return {picked.begin(), picked.end()};
}

/// A random unit direction over the free coordinates (zero elsewhere).
std::vector<ld> random_direction(const std::vector<bool>& free, std::mt19937_64& rng) {
    std::normal_distribution<double> normal;
    std::vector<ld> v(free.size(), 0.0L);
    ld norm2 = 0;
    for (std::size_t k = 0; k < free.size(); ++k) {
        if (!free[k]) continue;
        v[k] = normal(rng);
        norm2 += v[k] * v[k];
    }
    if (norm2 > 0)
        for (ld& a : v)
            a /= std::sqrt(norm2);
    return v;
}

/// Evaluates the implementation's summed loss at the points a finite-difference pass asks for,
/// in pipelined batches: a pass is run with guessed values (the linear model from the base
/// gradient) and records the points it needs; they are evaluated in one batch and the pass is
/// repeated until every point it asks for is known. The steps of central differences with a
/// declared third derivative and declared noise depend only on f(x), so two passes suffice.
class batched_loss {
  public:
    batched_loss(implementation& impl, const problem& p, ld f0, const std::vector<double>& grad)
        : impl_(impl), p_(p), grad_(grad) {
        x0_.assign(p.logits.begin(), p.logits.end());
        known_[x0_] = f0;
        f0_ = f0;
    }

    /// The function the finite-difference engine sees.
    scalar_function function() {
        return [this](std::span<const ld> x) -> ld {
            std::vector<ld> key(x.begin(), x.end());
            const auto it = known_.find(key);
            if (it != known_.end()) return it->second;
            ld guess = f0_;
            for (std::size_t k = 0; k < x.size(); ++k) {
                if (x[k] != x0_[k]) guess += static_cast<ld>(grad_[k]) * (x[k] - x0_[k]);
            }
            missing_.insert(std::move(key));
            return guess;
        };
    }

    /// Whether the last pass asked for points not yet evaluated.
    bool incomplete() const noexcept { return !missing_.empty(); }
    /// Starts a pass.
    void begin_pass() { missing_.clear(); }

    /// Evaluates the points the last pass asked for. Returns a failure message, or "".
    std::string fetch() {
        std::vector<std::vector<ld>> points(missing_.begin(), missing_.end());
        std::vector<problem> problems;
        problems.reserve(points.size());
        for (const auto& x : points)
            problems.push_back(detail::with_logits(p_, std::vector<double>(x.begin(), x.end())));
        const std::vector<attempt> got = impl_.evaluate_batch(problems);
        for (std::size_t k = 0; k < points.size(); ++k) {
            if (!got[k].ok || got[k].values.loss.size() != p_.loss_size()) {
                const std::string why =
                    got[k].ok ? "returned " + std::to_string(got[k].values.loss.size()) +
                                    " loss values, expected " + std::to_string(p_.loss_size())
                              : got[k].error;
                return impl_.name() + " failed to evaluate a perturbed problem (" +
                       describe_move(points[k]) + "): " + why;
            }
            known_[points[k]] = summed(got[k].values.loss);
        }
        missing_.clear();
        return "";
    }

  private:
    std::string describe_move(const std::vector<ld>& x) const {
        std::size_t moved = 0, first = 0;
        for (std::size_t k = 0; k < x.size(); ++k) {
            if (x[k] == x0_[k]) continue;
            if (moved++ == 0) first = k;
        }
        if (moved == 1) {
            return "logit [" + std::to_string(first / p_.classes) + ", " +
                   std::to_string(first % p_.classes) + "] moved by " + num(x[first] - x0_[first]);
        }
        return std::to_string(moved) + " logits moved";
    }

    implementation& impl_;
    const problem& p_;
    const std::vector<double>& grad_;
    std::vector<ld> x0_;
    ld f0_ = 0;
    std::map<std::vector<ld>, ld> known_;
    std::set<std::vector<ld>> missing_;
};

}  // namespace

verdict self_consistency(implementation& impl, const problem& p) {
    detail::answer base;
    if (auto failed = detail::evaluate(impl, p, base)) return *failed;
    const ld f0 = summed(base->loss);
    // An infinite or undefined loss has no derivative to compare with.
    if (!std::isfinite(f0)) return verdict::pass();
    const std::size_t c = p.classes, n = p.rows * c;
    const double limit = largest_differenced(p.dtype);
    std::vector<bool> free(n, false);
    for (std::size_t k = 0; k < n; ++k) {
        free[k] = std::isfinite(p.logits[k]) && std::abs(p.logits[k]) <= limit;
        if (free[k] && !std::isfinite(base->grad[k])) {
            return verdict::fail("self_consistency: the loss is finite (" + num(f0) +
                                 ") but grad[row " + std::to_string(k / c) + ", class " +
                                 std::to_string(k % c) + "] = " + num(base->grad[k]));
        }
    }
    const auto facts = detail::facts_of(p);
    const detail::effective_targets& e = facts->effective();
    const tolerance_model& model = facts->tolerance();
    // |d^3 logsumexp / dt^3| along a direction whose entries in a row span a range R is the
    // third central moment of a variable of range R: at most R^3 / (6 sqrt 3); a row loss
    // weighs it by s |a_i|_1. Doubled for safety (only the step depends on it: the error
    // estimate measures the h^2 term).
    const ld sqrt3 = std::sqrt(3.0L);
    auto third_bound = [&](const std::vector<ld>& v) {
        ld total = 0;
        for (std::size_t i = 0; i < p.rows; ++i) {
            ld lo = 0, hi = 0, mass = 0;
            for (std::size_t j = 0; j < c; ++j) {
                lo = std::min(lo, v[i * c + j]);
                hi = std::max(hi, v[i * c + j]);
                mass += std::abs(e.a[i * c + j]);
            }
            const ld range = hi - lo;
            total += std::abs(e.scale) * mass * range * range * range / (6 * sqrt3);
        }
        return std::max(2 * total, 1e-6L);
    };
    // Declared noise of the implementation's loss: the tolerance model of its dtype (for
    // reduction none, of the sum of the row losses).
    const tolerance loss_tol = model.loss();
    ld abs_losses = 0;
    for (const double v : base->loss)
        abs_losses += std::abs(v);
    difference_options options;
    options.noise = {static_cast<ld>(loss_tol.atol) + loss_tol.rtol * (abs_losses - std::abs(f0)),
                     loss_tol.rtol};
    options.measure_noise = false;
    options.input_digits = p.dtype == scalar_type::float32 ? 24 : 53;
    options.length_scale = 1;
    const tolerance grad_tol = model.grad();
    const std::vector<double>& magnitudes = facts->grad_magnitudes();
    ld largest = 0, norm2 = 0;
    for (std::size_t k = 0; k < n; ++k) {
        if (!free[k]) continue;
        largest = std::max(largest, std::abs(static_cast<ld>(base->grad[k])));
        norm2 += static_cast<ld>(base->grad[k]) * base->grad[k];
    }
    const ld floor = 1e-3L * model.scale().grad_scale;
    // What each comparison examines: a coordinate (index < n) or a direction.
    const std::vector<std::size_t> coordinates = sampled_coordinates(p, free);
    std::mt19937_64 rng(0x5e1fc0de ^ n);
    std::vector<std::vector<ld>> directions;
    if (std::count(free.begin(), free.end(), true) > 1) {
        for (int d = 0; d < 2; ++d)
            directions.push_back(random_direction(free, rng));
    }
    std::vector<ld> x(p.logits.begin(), p.logits.end());
    std::vector<ld> guess(n, 0.0L);
    for (std::size_t k = 0; k < n; ++k)
        guess[k] = free[k] ? base->grad[k] : 0.0L;
    batched_loss loss(impl, p, f0, base->grad);
    const scalar_function f = loss.function();
    std::vector<derivative_estimate> estimates;
    for (int pass = 0; pass < 4; ++pass) {
        loss.begin_pass();
        estimates.clear();
        for (const std::size_t k : coordinates) {
            std::vector<ld> unit(n, 0.0L);
            unit[k] = 1;
            options.third_derivative = third_bound(unit);
            estimates.push_back(central_derivative(f, x, k, options));
        }
        for (const auto& v : directions) {
            options.third_derivative = third_bound(v);
            estimates.push_back(central_derivative(f, x, v, options, guess));
        }
        if (!loss.incomplete()) break;
        if (const std::string failed = loss.fetch(); !failed.empty())
            return verdict::fail("self_consistency: " + failed);
    }
    if (loss.incomplete()) return verdict::pass();  // the engine kept asking: no verdict
    std::ostringstream failures;
    for (std::size_t m = 0; m < estimates.size(); ++m) {
        const bool coordinate = m < coordinates.size();
        ld analytic = 0, allowed = 0;
        if (coordinate) {
            const std::size_t k = coordinates[m];
            analytic = base->grad[k];
            allowed = grad_tol.bound(magnitudes[k]);
        } else {
            const auto& v = directions[m - coordinates.size()];
            for (std::size_t k = 0; k < n; ++k) {
                if (v[k] == 0) continue;
                analytic += v[k] * base->grad[k];
                allowed += std::abs(v[k]) * grad_tol.bound(magnitudes[k]);
            }
        }
        const ld scale = coordinate ? largest : std::sqrt(norm2);
        const derivative_verdict d =
            judge(estimates[m], analytic, allowed, 1e-3L * std::max(scale, floor));
        if (d.decision != decision::fail) continue;
        failures << (failures.tellp() > 0 ? "; " : "") << "d loss / d ";
        if (coordinate) {
            failures << "logit[row " << coordinates[m] / c << ", class " << coordinates[m] % c
                     << "]";
        } else {
            failures << "(random unit direction " << m - coordinates.size() + 1 << ")";
        }
        failures << " by central differences of its loss = " << num(d.estimate)
                 << " (error estimate " << num(d.error_estimate) << ", step "
                 << num(estimates[m].step) << "), its gradient gives " << num(d.analytic)
                 << " (tolerance " << num(d.analytic_error) << ")";
    }
    if (failures.tellp() == 0) return verdict::pass();
    return verdict::fail(
        "self_consistency: the gradient is not the derivative of the "
        "implementation's own loss: " +
        failures.str());
}

namespace {

/// Whether two output values are the same answer: equal bits, or both NaN.
bool same_value(double a, double b) {
    if (std::isnan(a) && std::isnan(b)) return true;
    return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

/// The first entry where `a` and `b` differ, described, or "".
std::string first_difference(const char* field, const std::vector<double>& a,
                             const std::vector<double>& b, std::size_t columns) {
    for (std::size_t k = 0; k < a.size() && k < b.size(); ++k) {
        if (same_value(a[k], b[k])) continue;
        std::ostringstream os;
        os << field;
        if (columns > 1) {
            os << "[row " << k / columns << ", class " << k % columns << "]";
        } else {
            os << "[" << k << "]";
        }
        os << " was " << show_number(a[k]) << ", then " << show_number(b[k]);
        return os.str();
    }
    return "";
}

}  // namespace

verdict determinism(implementation& impl, const problem& p) {
    detail::answer first;
    if (auto failed = detail::evaluate(impl, p, first)) return *failed;
    const std::vector<attempt> again = impl.evaluate_repeated(p, 2);
    for (std::size_t r = 0; r < again.size(); ++r) {
        const std::string ordinal = r == 0 ? "second" : "third";
        if (!again[r].ok) {
            return verdict::fail("determinism: " + impl.name() + " failed when asked the same " +
                                 "problem a " + ordinal + " time: " + again[r].error);
        }
        const outputs& o = again[r].values;
        if (o.probs.size() != first->probs.size() || o.loss.size() != first->loss.size() ||
            o.grad.size() != first->grad.size()) {
            return verdict::fail("determinism: the " + ordinal +
                                 " answer to the same problem has other sizes");
        }
        for (const std::string& d : {first_difference("probs", first->probs, o.probs, p.classes),
                                     first_difference("loss", first->loss, o.loss, 1),
                                     first_difference("grad", first->grad, o.grad, p.classes)}) {
            if (!d.empty()) {
                return verdict::fail(
                    "determinism: the same problem asked again gave another "
                    "answer (" +
                    ordinal + " time): " + d);
            }
        }
    }
    return verdict::pass();
}

}  // namespace xentcheck::properties
