/// The textbook implementation of softmax + cross-entropy, with optional planted bugs.
#include "xentcheck/properties/planted_bugs.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace xentcheck::properties {

std::string_view to_string(planted_bug b) noexcept {
    switch (b) {
        case planted_bug::none:
            return "none";
        case planted_bug::gradient_sign:
            return "gradient_sign";
        case planted_bug::no_max_subtraction:
            return "no_max_subtraction";
        case planted_bug::log_base_2:
            return "log_base_2";
        case planted_bug::grad_wrt_probs:
            return "grad_wrt_probs";
        case planted_bug::mean_divides_by_rows:
            return "mean_divides_by_rows";
        case planted_bug::mean_counts_ignored_rows:
            return "mean_counts_ignored_rows";
        case planted_bug::block_max_256:
            return "block_max_256";
        case planted_bug::float32_accumulation:
            return "float32_accumulation";
    }
    return "none";
}

const std::vector<planted_bug>& all_planted_bugs() {
    static const std::vector<planted_bug> all{planted_bug::none,
                                              planted_bug::gradient_sign,
                                              planted_bug::no_max_subtraction,
                                              planted_bug::log_base_2,
                                              planted_bug::grad_wrt_probs,
                                              planted_bug::mean_divides_by_rows,
                                              planted_bug::mean_counts_ignored_rows,
                                              planted_bug::block_max_256,
                                              planted_bug::float32_accumulation};
    return all;
}

std::string planted_bug_implementation::name() const {
    return bug_ == planted_bug::none ? "textbook" : "textbook with " + std::string(to_string(bug_));
}

namespace {

template <class T>
outputs textbook(const problem& p, planted_bug bug) {
    const std::size_t n = p.rows, c = p.classes;
    const bool index = p.kind() == target_kind::index;
    const T eps = static_cast<T>(p.label_smoothing);
    auto w = [&](std::size_t j) { return p.weight.empty() ? T(1) : static_cast<T>(p.weight[j]); };
    outputs out;
    out.probs.resize(n * c);
    out.grad.resize(n * c);
    std::vector<T> row_loss(n), a(c);
    std::vector<T> mass(n);
    T divisor = 0;
    std::size_t ignored_rows = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const bool ignored = p.row_ignored(i);
        ignored_rows += ignored;
        // Effective target row a = w ((1 - eps) y + eps / C).
        for (std::size_t j = 0; j < c; ++j) {
            const T y = index ? T(!ignored && static_cast<std::size_t>(p.target_indices()[i]) == j)
                              : static_cast<T>(p.target_probs()[i * c + j]);
            a[j] = ignored ? T(0) : w(j) * ((1 - eps) * y + eps / static_cast<T>(c));
            mass[i] += a[j];
        }
        if (!ignored) divisor += index ? w(static_cast<std::size_t>(p.target_indices()[i])) : T(1);
        const std::size_t scanned =
            bug == planted_bug::block_max_256 ? std::min<std::size_t>(c, 256) : c;
        T m = -std::numeric_limits<T>::infinity();
        for (std::size_t j = 0; j < scanned; ++j)
            m = std::max(m, static_cast<T>(p.logits[i * c + j]));
        if (bug == planted_bug::no_max_subtraction) m = 0;
        T sum = 0;
        float sum_float = 0;
        for (std::size_t j = 0; j < c; ++j) {
            const T e = std::exp(static_cast<T>(p.logits[i * c + j]) - m);
            sum += e;
            sum_float += static_cast<float>(e);
        }
        if (bug == planted_bug::float32_accumulation) sum = sum_float;
        T loss = 0, smooth = 0;
        for (std::size_t j = 0; j < c; ++j) {
            const T shifted = static_cast<T>(p.logits[i * c + j]) - m;
            out.probs[i * c + j] = std::exp(shifted) / sum;
            T log_p = shifted - std::log(sum);
            if (bug == planted_bug::log_base_2) log_p /= std::log(T(2));
            if (!index) {
                loss -= a[j] * log_p;  // 0 * -inf = NaN, as PyTorch
            } else if (!ignored) {
                // PyTorch: (1 - eps) nll_loss + eps / C sum_j w_j (-log p_j).
                if (j == static_cast<std::size_t>(p.target_indices()[i]))
                    loss -= (1 - eps) * w(j) * log_p;
                if (eps > 0) smooth -= w(j) * log_p;
            }
        }
        if (index && eps > 0) loss += eps / static_cast<T>(c) * smooth;
        row_loss[i] = ignored ? T(0) : loss;
    }
    if (bug == planted_bug::mean_divides_by_rows) divisor = static_cast<T>(n);
    if (bug == planted_bug::mean_counts_ignored_rows) divisor += static_cast<T>(ignored_rows);
    const T s = p.reduction == xentcheck::reduction::mean ? T(1) / divisor : T(1);
    T total = 0;
    for (std::size_t i = 0; i < n; ++i) {
        total += row_loss[i];
        const bool ignored = p.row_ignored(i);
        for (std::size_t j = 0; j < c; ++j) {
            const std::size_t k = i * c + j;
            const T y = index ? T(!ignored && static_cast<std::size_t>(p.target_indices()[i]) == j)
                              : static_cast<T>(p.target_probs()[k]);
            const T aj = ignored ? T(0) : w(j) * ((1 - eps) * y + eps / static_cast<T>(c));
            const T prob = static_cast<T>(out.probs[k]);
            T g = ignored ? T(0) : s * (mass[i] * prob - aj);
            if (bug == planted_bug::gradient_sign) g = -g;
            if (bug == planted_bug::grad_wrt_probs && !ignored) g = -s * aj / prob;
            out.grad[k] = g;
        }
    }
    if (p.reduction == xentcheck::reduction::none) {
        out.loss.assign(row_loss.begin(), row_loss.end());
    } else {
        out.loss = {static_cast<double>(p.reduction == xentcheck::reduction::mean ? total / divisor
                                                                                  : total)};
    }
    return out;
}

}  // namespace

outputs planted_bug_implementation::evaluate(const problem& p) {
    validate(p);
    return p.dtype == scalar_type::float32 ? textbook<float>(p, bug_) : textbook<double>(p, bug_);
}

}  // namespace xentcheck::properties
