/// The reference as an implementation, and the long double truth.
#include "xentcheck/properties/implementation.h"

#include <list>
#include <string>
#include <unordered_map>

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

/// Recent reference answers of this thread, most recently used first.
class reference_memory {
  public:
    const outputs& get(const problem& p) {
        std::string key = identity(p);
        if (const auto it = index_.find(key); it != index_.end()) {
            entries_.splice(entries_.begin(), entries_, it->second);
            return entries_.front().values;
        }
        outputs values = evaluate_in<long double>(p);
        const std::size_t bytes =
            key.size() +
            sizeof(double) * (values.probs.size() + values.loss.size() + values.grad.size());
        entries_.push_front({std::move(key), std::move(values), bytes});
        index_[entries_.front().key] = entries_.begin();
        used_ += bytes;
        // Keep the newest entry even when it alone exceeds the budget.
        while (used_ > budget && entries_.size() > 1) {
            used_ -= entries_.back().bytes;
            index_.erase(entries_.back().key);
            entries_.pop_back();
        }
        return entries_.front().values;
    }

  private:
    static constexpr std::size_t budget = std::size_t(64) << 20;
    struct entry {
        std::string key;
        outputs values;
        std::size_t bytes;
    };
    std::list<entry> entries_;
    std::unordered_map<std::string, std::list<entry>::iterator> index_;
    std::size_t used_ = 0;
};

}  // namespace

outputs reference_outputs(const problem& p) {
    thread_local reference_memory memory;
    return memory.get(p);
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

std::string reference_implementation::name() const {
    return arithmetic_ == arithmetic::standard ? "reference" : "reference (native precision)";
}

outputs reference_implementation::evaluate(const problem& p) {
    if (p.dtype == scalar_type::float32) return evaluate_in<float>(p);
    return arithmetic_ == arithmetic::standard ? evaluate_in<long double>(p)
                                               : evaluate_in<double>(p);
}

}  // namespace xentcheck::properties
