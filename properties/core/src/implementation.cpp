/// The reference as an implementation, and the long double truth.
#include "xentcheck/properties/implementation.h"

#include <string>

#include "problem_facts.h"
#include "xentcheck/cross_entropy.h"

namespace xentcheck::properties {

namespace {

/// lib's cross_entropy in T on the problem (exact for T = float on float32 problems).
template <class T>
outputs evaluate_in(const problem& p) {
    const std::vector<T> logits(p.logits.begin(), p.logits.end());
    const auto r = xentcheck::cross_entropy<T>(logits, p.classes, p.target_view(), p.options());
    return outputs{std::vector<double>(r.probs.begin(), r.probs.end()),
                   std::vector<double>(r.loss.begin(), r.loss.end()),
                   std::vector<double>(r.grad.begin(), r.grad.end())};
}

}  // namespace

outputs reference_outputs(const problem& p) {
    return detail::facts_of(p)->truth();
}

std::shared_ptr<const outputs> implementation::evaluate_shared(const problem& p) {
    return std::make_shared<const outputs>(evaluate(p));
}

std::vector<attempt> implementation::evaluate_batch(std::span<const problem> problems) {
    std::vector<attempt> out(problems.size());
    for (std::size_t k = 0; k < problems.size(); ++k) {
        try {
            out[k].values = evaluate(problems[k]);
            out[k].ok = true;
        } catch (const std::exception& e) {
            out[k].error = e.what();
        }
    }
    return out;
}

std::vector<attempt> implementation::evaluate_repeated(const problem& p, std::size_t times) {
    const std::vector<problem> copies(times, p);
    return evaluate_batch(copies);
}

std::string reference_implementation::name() const {
    return arithmetic_ == arithmetic::standard ? "reference" : "reference (native precision)";
}

outputs reference_implementation::evaluate(const problem& p) {
    if (p.dtype == scalar_type::float32) return evaluate_in<float>(p);
    return arithmetic_ == arithmetic::standard ? evaluate_in<long double>(p)
                                               : evaluate_in<double>(p);
}

}  // namespace xentcheck::properties
