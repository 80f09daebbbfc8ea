/// Facts of a problem computed once and shared by the properties that check it.
#include "problem_facts.h"

#include <algorithm>
#include <cmath>
#include <mutex>

#include "xentcheck/properties/problem_memory.h"

namespace xentcheck::properties::detail {

const tolerance_model& problem_facts::tolerance() const {
    std::call_once(model_once_, [this] { model_ = p_.tolerance(); });
    return *model_;
}

const outputs& problem_facts::truth() const {
    std::call_once(truth_once_, [this] {
        // Float32 problems are float-exact, so this is the exact answer rounded once whatever
        // the dtype: the long double reference, rounded as lib writes it.
        auto r =
            xentcheck::cross_entropy_rounded(p_.logits, p_.classes, p_.target_view(), p_.options());
        truth_ = outputs{std::move(r.probs), std::move(r.loss), std::move(r.grad)};
        exact_probs_ = std::move(r.exact_probs);
    });
    return truth_;
}

std::span<const long double> problem_facts::exact_probs() const {
    truth();
    return exact_probs_;
}

std::span<const long double> problem_facts::row_logsumexp() const {
    std::call_once(lse_once_, [this] {
        const std::span<const long double> probs = exact_probs();
        const std::size_t c = p_.classes;
        lse_.resize(p_.rows);
        for (std::size_t i = 0; i < p_.rows; ++i) {
            const double* z = p_.logits.data() + i * c;
            const std::size_t k = static_cast<std::size_t>(std::max_element(z, z + c) - z);
            lse_[i] = static_cast<long double>(z[k]) - std::log(probs[i * c + k]);
        }
    });
    return lse_;
}

const effective_targets& problem_facts::effective() const {
    std::call_once(effective_once_, [this] { effective_ = detail::effective(p_); });
    return effective_;
}

const std::vector<double>& problem_facts::grad_magnitudes() const {
    std::call_once(magnitudes_once_, [this] { magnitudes_ = grad_magnitudes_of(p_, truth()); });
    return magnitudes_;
}

const std::vector<bool>& problem_facts::defined_rows() const {
    std::call_once(defined_once_, [this] { defined_ = detail::defined_rows(p_); });
    return defined_;
}

std::size_t problem_facts::bytes() const noexcept {
    // Everything the facts may come to hold, so that the count does not change as they are
    // computed: the problem, truth, exact probabilities, effective targets and magnitudes.
    const std::size_t n = p_.rows * p_.classes;
    const std::size_t truth_bytes = sizeof(double) * (2 * n + p_.loss_size());
    const std::size_t exact_bytes = sizeof(long double) * n;
    const std::size_t effective_bytes = sizeof(long double) * (n + p_.rows);
    const std::size_t magnitude_bytes = sizeof(double) * n;
    return sizeof(problem_facts) + problem_bytes(p_) + truth_bytes + exact_bytes + effective_bytes +
           magnitude_bytes + sizeof(long double) * p_.rows + p_.rows / 8;
}

namespace {

/// The facts of recent problems, most recently used first.
class facts_memory {
  public:
    std::shared_ptr<const problem_facts> get(const problem& p) {
        const std::size_t hash = problem_hash(p);
        const std::lock_guard lock(mutex_);
        if (const auto* known = memory_.use(p, hash)) return *known;
        auto facts = std::make_shared<const problem_facts>(p);
        const std::size_t bytes = facts->bytes();
        // Kept even when it alone exceeds the budget (the memory never forgets the newest).
        return memory_.remember(hash, std::move(facts), bytes);
    }

  private:
    struct subject_of {
        const problem& operator()(const std::shared_ptr<const problem_facts>& f) const {
            return f->subject();
        }
    };
    problem_memory<std::shared_ptr<const problem_facts>, subject_of> memory_{std::size_t(128)
                                                                             << 20};
    std::mutex mutex_;
};

}  // namespace

std::shared_ptr<const problem_facts> facts_of(const problem& p) {
    static facts_memory memory;
    return memory.get(p);
}

}  // namespace xentcheck::properties::detail

namespace xentcheck::properties {

void prepare(const problem& p) {
    const auto facts = detail::facts_of(p);
    facts->defined_rows();
    facts->tolerance();
    facts->effective();
    facts->grad_magnitudes();  // and the truth it is computed from
}

}  // namespace xentcheck::properties
