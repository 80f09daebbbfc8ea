/// The reference as an implementation, and the long double truth.
#include "xentcheck/properties/implementation.h"

#include <string>

#include "problem_facts.h"

namespace xentcheck::properties {

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
    if (p.dtype == scalar_type::float32) return detail::widened(detail::reference_in<float>(p));
    if (arithmetic_ == arithmetic::native) return detail::widened(detail::reference_in<double>(p));
    // The long double reference rounded: the truth itself, computed once per problem and shared
    // with the properties that compare with it.
    return reference_outputs(p);
}

}  // namespace xentcheck::properties
