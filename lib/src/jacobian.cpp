/// Softmax Jacobian, Jacobian-vector product and loss Hessian (explicit instantiations).
#include "xentcheck/jacobian.h"

#include "row_kernel.h"
#include "xentcheck/softmax.h"

namespace xentcheck {

template <class T>
void softmax_jacobian(std::span<const T> probs_row, std::span<T> jacobian) {
    const std::size_t c = probs_row.size();
    detail::require_size("jacobian", jacobian.size(), c * c);
    for (std::size_t r = 0; r < c; ++r) {
        for (std::size_t k = 0; k < c; ++k) {
            jacobian[r * c + k] = (r == k ? probs_row[r] : T(0)) - probs_row[r] * probs_row[k];
        }
    }
}

template <class T>
void softmax_jvp(std::span<const T> probs, std::size_t classes, std::span<const T> v,
                 std::span<T> out) {
    const batch_shape shape = make_shape(probs.size(), classes);
    detail::require_size("v", v.size(), probs.size());
    detail::require_size("out", out.size(), probs.size());
    for (std::size_t i = 0; i < shape.rows; ++i) {
        const T pv = detail::compensated_sum_of<T>(classes, [&](std::size_t j) {
                         return probs[i * classes + j] * v[i * classes + j];
                     }).value();
        for (std::size_t j = 0; j < classes; ++j) {
            out[i * classes + j] = probs[i * classes + j] * (v[i * classes + j] - pv);
        }
    }
}

template <class T>
void cross_entropy_hessian(std::span<const T> logits, std::size_t classes,
                           const target_view& target, const cross_entropy_options& options,
                           std::span<T> blocks) {
    const batch_shape shape = make_shape(logits.size(), classes);
    detail::require_size("blocks", blocks.size(), shape.rows * classes * classes);
    effective_target_mass(shape, target, options);  // validates the targets and options
    const auto masses = detail::masses_in<T>(shape, target, options);
    const T scale = options.reduction == reduction::mean ? T(1) / masses.divisor : T(1);
    const std::vector<T> probs = softmax<T>(logits, classes);
    for (std::size_t i = 0; i < shape.rows; ++i) {
        const auto block = blocks.subspan(i * classes * classes, classes * classes);
        softmax_jacobian<T>(std::span<const T>(probs).subspan(i * classes, classes), block);
        const T factor = scale * masses.row[i];
        for (auto& h : block)
            h = masses.row[i] == T(0) ? T(0) : h * factor;
    }
}

#define XENTCHECK_INSTANTIATE(T)                                                                \
    template void softmax_jacobian<T>(std::span<const T>, std::span<T>);                        \
    template void softmax_jvp<T>(std::span<const T>, std::size_t, std::span<const T>,           \
                                 std::span<T>);                                                 \
    template void cross_entropy_hessian<T>(std::span<const T>, std::size_t, const target_view&, \
                                           const cross_entropy_options&, std::span<T>);
XENTCHECK_INSTANTIATE(float)
XENTCHECK_INSTANTIATE(double)
XENTCHECK_INSTANTIATE(long double)
XENTCHECK_INSTANTIATE(std::complex<double>)
#undef XENTCHECK_INSTANTIATE

}  // namespace xentcheck
