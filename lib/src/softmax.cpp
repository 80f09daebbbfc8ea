/// Stable row-wise logsumexp, softmax and log-softmax (explicit instantiations).
#include "xentcheck/softmax.h"

#include <algorithm>

#include "row_kernel.h"

namespace xentcheck {

batch_shape make_shape(std::size_t size, std::size_t classes) {
    if (classes == 0) throw input_error("logits", "the class count must be at least 1");
    if (size % classes != 0) {
        throw input_error("logits", "size " + std::to_string(size) +
                                        " is not a multiple of the class count " +
                                        std::to_string(classes));
    }
    return batch_shape{size / classes, classes};
}

template <class T>
void logsumexp(std::span<const T> logits, std::size_t classes, std::span<T> out) {
    const batch_shape shape = make_shape(logits.size(), classes);
    detail::require_size("out", out.size(), shape.rows);
    for (std::size_t i = 0; i < shape.rows; ++i) {
        const auto row = logits.subspan(i * classes, classes);
        const auto scan = detail::scan_row(row);
        if (!scan.defined) {
            out[i] = detail::quiet_nan<T>();
            continue;
        }
        out[i] = scan.max + detail::log1p_of(detail::shifted_exp_rest(row, scan, std::span<T>{}));
    }
}

template <class T>
void softmax(std::span<const T> logits, std::size_t classes, std::span<T> probs) {
    const batch_shape shape = make_shape(logits.size(), classes);
    detail::require_size("probs", probs.size(), logits.size());
    for (std::size_t i = 0; i < shape.rows; ++i) {
        const auto row = logits.subspan(i * classes, classes);
        const auto p = probs.subspan(i * classes, classes);
        const auto scan = detail::scan_row(row);
        if (!scan.defined) {
            std::fill(p.begin(), p.end(), detail::quiet_nan<T>());
            continue;
        }
        const T inv = T(1) / (T(1) + detail::shifted_exp_rest(row, scan, p));
        for (auto& v : p)
            v *= inv;
    }
}

template <class T>
void log_softmax(std::span<const T> logits, std::size_t classes, std::span<T> out) {
    const batch_shape shape = make_shape(logits.size(), classes);
    detail::require_size("out", out.size(), logits.size());
    for (std::size_t i = 0; i < shape.rows; ++i) {
        const auto row = logits.subspan(i * classes, classes);
        const auto o = out.subspan(i * classes, classes);
        const auto scan = detail::scan_row(row);
        if (!scan.defined) {
            std::fill(o.begin(), o.end(), detail::quiet_nan<T>());
            continue;
        }
        const T log_sum = detail::log1p_of(detail::shifted_exp_rest(row, scan, std::span<T>{}));
        for (std::size_t j = 0; j < classes; ++j)
            o[j] = (row[j] - scan.max) - log_sum;
    }
}

#define XENTCHECK_INSTANTIATE(T)                                               \
    template void logsumexp<T>(std::span<const T>, std::size_t, std::span<T>); \
    template void softmax<T>(std::span<const T>, std::size_t, std::span<T>);   \
    template void log_softmax<T>(std::span<const T>, std::size_t, std::span<T>);
XENTCHECK_INSTANTIATE(float)
XENTCHECK_INSTANTIATE(double)
XENTCHECK_INSTANTIATE(long double)
XENTCHECK_INSTANTIATE(std::complex<double>)
#undef XENTCHECK_INSTANTIATE

}  // namespace xentcheck
