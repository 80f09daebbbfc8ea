/// Helpers of the lib unit tests: an independent long double oracle and relative comparisons.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "xentcheck/cross_entropy.h"

namespace xentcheck::test {

using ld = long double;

/// Relative distance |actual - expected| / |expected| in units of epsilon of T (the reference's
/// "a few ulps" claims are checked in these units). Exact equality gives 0, including 0 == 0.
template <class T>
ld eps_distance(ld actual, ld expected) {
    if (actual == expected) return 0;
    const ld eps = std::numeric_limits<T>::epsilon();
    return std::abs(actual - expected) / (std::abs(expected) * eps);
}

/// Softmax without a max shift: p_j = 1 / sum_k exp(z_k - z_j). A different formula from the
/// library's exp(z - m) / S; valid while logit differences stay below ~11000 (long double's exp
/// range), which the unit tests respect. -inf entries give exactly 0.
inline std::vector<ld> pairwise_softmax(std::span<const ld> z) {
    std::vector<ld> p(z.size());
    for (std::size_t j = 0; j < z.size(); ++j) {
        if (std::isinf(z[j]) && z[j] < 0) continue;
        ld s = 0;
        for (const ld zk : z)
            s += std::exp(zk - z[j]);
        p[j] = 1 / s;
    }
    return p;
}

/// -log p_j = log1p(sum_{k != j} exp(z_k - z_j)): full relative accuracy when p_j -> 1.
inline ld pairwise_neg_log_prob(std::span<const ld> z, std::size_t j) {
    ld rest = 0;
    for (std::size_t k = 0; k < z.size(); ++k) {
        if (k != j) rest += std::exp(z[k] - z[j]);
    }
    return std::log1p(rest);
}

/// A cross-entropy problem stated the way PyTorch documents F.cross_entropy.
struct oracle_problem {
    std::vector<ld> logits;            ///< N x C
    std::size_t classes = 1;           ///< C
    std::vector<std::int64_t> index;   ///< class-index targets, or empty
    std::vector<ld> target_probs;      ///< N x C probability targets when index is empty
    std::vector<ld> weight;            ///< C class weights or empty
    std::int64_t ignore_index = -100;  ///< skipped class index
    ld label_smoothing = 0;            ///< eps
    reduction red = reduction::mean;   ///< reduction
};

/// The oracle's answer: the loss values and d loss / d logits (of sum_i L_i for none).
struct oracle_result {
    std::vector<ld> loss;
    std::vector<ld> grad;
};

/// PyTorch's definition transcribed term by term in long double: with effective targets
/// a_ij = w_j ((1 - eps) y_ij + eps / C) (y one-hot for index targets, a = 0 for ignored rows),
/// L_i = sum_j a_ij (-log p_ij); mean divides by sum_i w[t_i] over kept rows (index targets) or
/// N (probability targets). The gradient is s sum_k a_ik (p_ij - [j == k]), summed term by term.
inline oracle_result oracle(const oracle_problem& q) {
    const std::size_t c = q.classes;
    const std::size_t n = q.logits.size() / c;
    const ld eps = q.label_smoothing;
    std::vector<ld> row_loss(n, 0), grad(n * c, 0);
    ld divisor = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const std::span<const ld> z(q.logits.data() + i * c, c);
        std::vector<ld> a(c, 0);
        if (!q.index.empty()) {
            if (q.index[i] == q.ignore_index) continue;
            const auto t = static_cast<std::size_t>(q.index[i]);
            const ld wt = q.weight.empty() ? 1 : q.weight[t];
            divisor += wt;
            for (std::size_t j = 0; j < c; ++j) {
                const ld w = q.weight.empty() ? 1 : q.weight[j];
                a[j] = w * ((j == t ? 1 - eps : 0) + eps / static_cast<ld>(c));
            }
        } else {
            divisor += 1;
            for (std::size_t j = 0; j < c; ++j) {
                const ld w = q.weight.empty() ? 1 : q.weight[j];
                a[j] = w * ((1 - eps) * q.target_probs[i * c + j] + eps / static_cast<ld>(c));
            }
        }
        const std::vector<ld> p = pairwise_softmax(z);
        for (std::size_t k = 0; k < c; ++k) {
            if (a[k] == 0) continue;
            row_loss[i] += a[k] * pairwise_neg_log_prob(z, k);
            for (std::size_t j = 0; j < c; ++j)
                grad[i * c + j] += a[k] * (p[j] - (j == k ? 1 : 0));
        }
    }
    oracle_result r;
    const ld s = q.red == reduction::mean ? 1 / divisor : 1;
    for (auto& g : grad)
        g *= s;
    r.grad = std::move(grad);
    if (q.red == reduction::none) {
        r.loss = row_loss;
    } else {
        ld total = 0;
        for (const ld l : row_loss)
            total += l;
        r.loss = {total * s};
    }
    return r;
}

/// Converts a vector to another element type.
template <class To, class From>
std::vector<To> convert(const std::vector<From>& v) {
    return std::vector<To>(v.begin(), v.end());
}

}  // namespace xentcheck::test
