/// Cross-entropy loss and gradient with PyTorch's semantics (explicit instantiations).
#include "xentcheck/cross_entropy.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <string>

#include "cross_entropy_rows.h"
#include "long_double_round.h"
#include "rounded_rows.h"
#include "row_kernel.h"

namespace xentcheck {

std::string_view to_string(reduction r) noexcept {
    switch (r) {
        case reduction::none:
            return "none";
        case reduction::mean:
            return "mean";
        case reduction::sum:
            return "sum";
    }
    return "mean";
}

reduction parse_reduction(std::string_view name) {
    if (name == "none") return reduction::none;
    if (name == "mean") return reduction::mean;
    if (name == "sum") return reduction::sum;
    throw input_error("reduction", "reduction must be \"none\", \"mean\" or \"sum\", not \"" +
                                       std::string(name) + "\"");
}

namespace {

void validate_options(batch_shape shape, const target_view& target,
                      const cross_entropy_options& options) {
    const double eps = options.label_smoothing;
    if (!(eps >= 0.0 && eps <= 1.0)) {
        throw input_error("label_smoothing",
                          "label_smoothing must be in [0, 1], not " + std::to_string(eps));
    }
    if (!options.weight.empty() && options.weight.size() != shape.classes) {
        throw input_error("weight", "weight has " + std::to_string(options.weight.size()) +
                                        " elements, expected one per class (" +
                                        std::to_string(shape.classes) + ")");
    }
    if (target.form() == target_view::kind::index) {
        const auto t = target.class_indices();
        detail::require_size("target", t.size(), shape.rows);
        const auto c = static_cast<std::int64_t>(shape.classes);
        for (std::size_t i = 0; i < t.size(); ++i) {
            if (t[i] != options.ignore_index && (t[i] < 0 || t[i] >= c)) {
                throw input_error("target", "target[" + std::to_string(i) +
                                                "] = " + std::to_string(t[i]) +
                                                " is out of range [0, " + std::to_string(c) + ")");
            }
        }
    } else {
        detail::require_size("target", target.probs().size(), shape.size());
    }
}

}  // namespace

target_mass effective_target_mass(batch_shape shape, const target_view& target,
                                  const cross_entropy_options& options) {
    validate_options(shape, target, options);
    // masses_in<double>: compensated sums (a recursive sum of C weights, or of N kept weights,
    // would carry up to (C - 1) u of relative error into A and the divisor).
    auto m = detail::masses_in<double>(shape, target, options);
    return {std::move(m.row), m.divisor};
}

double mean_divisor(batch_shape shape, const target_view& target,
                    const cross_entropy_options& options) {
    validate_options(shape, target, options);
    return detail::masses_in<double>(shape, target, options, false).divisor;
}

namespace {

/// Logits per thread below which another thread costs more than it saves (set when a thread
/// was started per call, tens of microseconds; a worker of the team is woken in a few, so this
/// is conservative now: not re-measured; the vector kernels do about 1000 logits per
/// microsecond).
constexpr std::size_t logits_per_thread = 32768;
/// The same when one row's classes are split (three steps over the row, each handed to the
/// threads and waited for).
constexpr std::size_t logits_per_split_thread = 65536;
/// Logits of the smallest chunk of rows a thread takes (detail::guided_chunks): about 15 us of
/// work in double, so the threads finish within that of each other, and taking a chunk (one
/// atomic increment) costs nothing next to it.
constexpr std::size_t min_chunk_logits = 8192;

std::size_t useful_threads(std::size_t requested, std::size_t logits, std::size_t per_thread) {
    const std::size_t by_size = std::max<std::size_t>(1, logits / per_thread);
    return std::min(std::max<std::size_t>(requested, 1), by_size);
}

/// The shape of a call's logits, its outputs' sizes (loss always, grad and probs when not
/// empty) and its targets and options checked; throws input_error naming the field.
template <class V>
batch_shape checked_shape(std::size_t logits, std::size_t classes, const target_view& target,
                          const cross_entropy_options& options, std::size_t loss, std::span<V> grad,
                          std::span<V> probs) {
    const batch_shape shape = make_shape(logits, classes);
    detail::require_size("loss", loss, options.reduction == reduction::none ? shape.rows : 1);
    if (!grad.empty()) detail::require_size("grad", grad.size(), shape.size());
    if (!probs.empty()) detail::require_size("probs", probs.size(), shape.size());
    validate_options(shape, target, options);
    return shape;
}

/// A validated call's job in T of logits of Z (its output spans left to the caller), with the
/// target masses it points to.
template <class T, class Z>
detail::batch_job<T, Z> make_job(std::span<const Z> logits, std::size_t classes,
                                 const target_view& target, const cross_entropy_options& options,
                                 const detail::target_masses<T>& masses) {
    detail::batch_job<T, Z> job;
    job.logits = logits;
    job.classes = classes;
    job.target = &target;
    job.options = &options;
    job.masses = &masses;
    job.index_form = target.form() == target_view::kind::index;
    job.smoothing = options.label_smoothing > 0;
    job.by_row = options.reduction == reduction::none;
    job.eps = T(options.label_smoothing);
    job.eps_per_class = job.eps / T(static_cast<double>(classes));
    job.weight_total = detail::class_weight_total<T>(classes, options.weight);
    job.scale = options.reduction == reduction::mean ? T(1) / masses.divisor : T(1);
    return job;
}

/// How many threads a call takes its rows with, and how many it splits one row's classes
/// across (when that is more).
struct thread_plan {
    std::size_t row_threads = 1;
    std::size_t split_threads = 1;
    bool split_rows = false;
};

thread_plan plan_threads(batch_shape shape, bool index_form, bool row_outputs,
                         const cross_entropy_options& options) {
    thread_plan plan;
    plan.row_threads =
        std::min(useful_threads(options.threads, shape.size(), logits_per_thread), shape.rows);
    plan.split_threads = useful_threads(options.threads, shape.classes, logits_per_split_thread);
    plan.split_rows = plan.split_threads > plan.row_threads && index_form && row_outputs;
    return plan;
}

/// cross_entropy in T of logits of Z (T, or double for long double): the core of both entry
/// points.
template <class T, class Z>
void cross_entropy_of(std::span<const Z> logits, std::size_t classes, const target_view& target,
                      const cross_entropy_options& options, std::span<T> loss, std::span<T> grad,
                      std::span<T> probs) {
    const batch_shape shape =
        checked_shape(logits.size(), classes, target, options, loss.size(), grad, probs);
    const bool by_row = options.reduction == reduction::none;
    const auto masses = detail::masses_in<T>(shape, target, options);
    detail::batch_job<T, Z> job = make_job<T, Z>(logits, classes, target, options, masses);
    job.loss = loss;
    job.grad = grad;
    job.probs = probs;

    detail::accumulator<T> total;
    const thread_plan plan =
        plan_threads(shape, job.index_form, !grad.empty() || !probs.empty(), options);
    const std::size_t row_threads = plan.row_threads;
    if (plan.split_rows) {
        // Fewer rows than threads: each kept, defined row is split across the threads.
        for (std::size_t i = 0; i < shape.rows; ++i) {
            if (target.class_indices()[i] == options.ignore_index) {
                total.add(detail::process_rows(job, i, i + 1));
                continue;
            }
            const T row_loss = detail::process_split_row(job, i, plan.split_threads);
            if (by_row) {
                loss[i] = row_loss;
            } else {
                total.add(row_loss);
            }
        }
    } else if (row_threads == 1) {
        total.add(detail::process_rows_fast(job, 0, shape.rows));
    } else {
        // Rows are dealt out in shrinking chunks as threads become free, so a thread whose CPU
        // is slower or taken away for a while (a virtual machine's) takes fewer of them instead
        // of holding up the others, and the threads end within a small chunk of each other.
        // Each chunk keeps its own partial loss and the parts are added in row order: the
        // result does not depend on which thread took which chunk.
        const std::vector<std::size_t> bounds = detail::guided_chunks(
            shape.rows, row_threads, std::max<std::size_t>(1, min_chunk_logits / classes));
        const std::size_t chunks = bounds.size() - 1;
        std::vector<detail::accumulator<T>> totals(chunks);
        std::atomic<std::size_t> next_chunk{0};
        detail::run_parts(row_threads, [&](std::size_t) {
            for (std::size_t c = next_chunk++; c < chunks; c = next_chunk++)
                totals[c] = detail::process_rows_fast(job, bounds[c], bounds[c + 1]);
        });
        for (const auto& part : totals)
            total.add(part);
    }
    if (!by_row) {
        loss[0] =
            options.reduction == reduction::mean ? total.value() / masses.divisor : total.value();
    }
}

}  // namespace

template <class T>
void cross_entropy(std::span<const T> logits, std::size_t classes, const target_view& target,
                   const cross_entropy_options& options, std::span<T> loss, std::span<T> grad,
                   std::span<T> probs) {
    cross_entropy_of<T, T>(logits, classes, target, options, loss, grad, probs);
}

void cross_entropy_widened(std::span<const double> logits, std::size_t classes,
                           const target_view& target, const cross_entropy_options& options,
                           std::span<long double> loss, std::span<long double> grad,
                           std::span<long double> probs) {
    cross_entropy_of<long double, double>(logits, classes, target, options, loss, grad, probs);
}

cross_entropy_result<long double> cross_entropy_widened(std::span<const double> logits,
                                                        std::size_t classes,
                                                        const target_view& target,
                                                        const cross_entropy_options& options) {
    auto r = detail::sized_result<long double>(logits.size(), classes, options.reduction);
    cross_entropy_widened(logits, classes, target, options, r.loss, r.grad, r.probs);
    return r;
}

void cross_entropy_rounded(std::span<const double> logits, std::size_t classes,
                           const target_view& target, const cross_entropy_options& options,
                           std::span<double> loss, std::span<double> grad, std::span<double> probs,
                           std::span<long double> exact_probs) {
    const batch_shape shape =
        checked_shape(logits.size(), classes, target, options, loss.size(), grad, probs);
    const bool by_row = options.reduction == reduction::none;
    if (!exact_probs.empty()) detail::require_size("exact_probs", exact_probs.size(), shape.size());
    const bool index_form = target.form() == target_view::kind::index;
    const thread_plan plan = plan_threads(shape, index_form, true, options);
    if (!index_form || plan.row_threads > 1 || plan.split_rows) {
        // Probability targets and batches taken by several threads: the long double outputs,
        // rounded here.
        std::vector<long double> wide_loss(loss.size()), wide_grad(grad.size());
        std::vector<long double> wide_probs(shape.size());
        cross_entropy_widened(logits, classes, target, options, wide_loss, wide_grad, wide_probs);
        const auto round = [](std::span<const long double> from, std::span<double> to) {
            for (std::size_t k = 0; k < to.size(); ++k)
                to[k] = detail::rounded_to_double(from[k]);
        };
        round(wide_loss, loss);
        round(wide_grad, grad);
        round(wide_probs, probs);
        if (!exact_probs.empty())
            std::copy(wide_probs.begin(), wide_probs.end(), exact_probs.begin());
        return;
    }
    const auto masses = detail::masses_in<long double>(shape, target, options);
    const auto job = make_job<long double, double>(logits, classes, target, options, masses);
    std::vector<long double> exponentials(classes);
    const detail::accumulator<long double> total =
        detail::rounded_index_rows(job, {loss, grad, probs, exact_probs}, exponentials);
    if (!by_row) {
        loss[0] = detail::rounded_to_double(
            options.reduction == reduction::mean ? total.value() / masses.divisor : total.value());
    }
}

rounded_reference cross_entropy_rounded(std::span<const double> logits, std::size_t classes,
                                        const target_view& target,
                                        const cross_entropy_options& options) {
    const auto sized = detail::sized_result<double>(logits.size(), classes, options.reduction);
    rounded_reference r{std::move(sized.probs), std::move(sized.loss), std::move(sized.grad),
                        std::vector<long double>(logits.size())};
    cross_entropy_rounded(logits, classes, target, options, r.loss, r.grad, r.probs, r.exact_probs);
    return r;
}

#define XENTCHECK_INSTANTIATE(T)                                                             \
    template void cross_entropy<T>(std::span<const T>, std::size_t, const target_view&,      \
                                   const cross_entropy_options&, std::span<T>, std::span<T>, \
                                   std::span<T>);
XENTCHECK_INSTANTIATE(float)
XENTCHECK_INSTANTIATE(double)
XENTCHECK_INSTANTIATE(long double)
XENTCHECK_INSTANTIATE(std::complex<double>)
#undef XENTCHECK_INSTANTIATE

}  // namespace xentcheck
