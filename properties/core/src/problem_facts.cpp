/// Facts of a problem computed once and shared by the properties that check it.
#include "problem_facts.h"

#include <algorithm>
#include <cmath>
#include <list>
#include <unordered_map>

namespace xentcheck::properties::detail {

const tolerance_model& problem_facts::tolerance() const {
    std::call_once(model_once_, [this] { model_ = p_.tolerance(); });
    return *model_;
}

const outputs& problem_facts::truth() const {
    std::call_once(truth_once_, [this] {
        // Float32 problems are float-exact, so this is the exact answer rounded once whatever
        // the dtype.
        auto r = reference_in<long double>(p_);
        truth_ = widened(r);
        exact_probs_ = std::move(r.probs);
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
    const std::size_t targets = p_.kind() == target_kind::index ? p_.rows : n;
    const std::size_t problem_bytes = sizeof(double) * (n + targets + p_.weight.size());
    const std::size_t truth_bytes = sizeof(double) * (2 * n + p_.loss_size());
    const std::size_t exact_bytes = sizeof(long double) * n;
    const std::size_t effective_bytes = sizeof(long double) * (n + p_.rows);
    const std::size_t magnitude_bytes = sizeof(double) * n;
    return sizeof(problem_facts) + problem_bytes + truth_bytes + exact_bytes + effective_bytes +
           magnitude_bytes + sizeof(long double) * p_.rows + p_.rows / 8;
}

namespace {

/// The facts of recent problems, most recently used first.
class facts_memory {
  public:
    std::shared_ptr<const problem_facts> get(const problem& p) {
        const std::size_t hash = problem_hash(p);
        const std::lock_guard lock(mutex_);
        const auto [first, last] = index_.equal_range(hash);
        for (auto it = first; it != last; ++it) {
            if (!same_problem((*it->second)->subject(), p)) continue;
            entries_.splice(entries_.begin(), entries_, it->second);
            return entries_.front();
        }
        auto facts = std::make_shared<const problem_facts>(p);
        used_ += facts->bytes();
        entries_.push_front(facts);
        index_.emplace(hash, entries_.begin());
        // Keep the newest entry even when it alone exceeds the budget.
        while (used_ > budget && entries_.size() > 1) {
            const problem& oldest = entries_.back()->subject();
            const auto [from, to] = index_.equal_range(problem_hash(oldest));
            for (auto it = from; it != to; ++it) {
                if (*it->second == entries_.back()) {
                    index_.erase(it);
                    break;
                }
            }
            used_ -= entries_.back()->bytes();
            entries_.pop_back();
        }
        return facts;
    }

  private:
    static constexpr std::size_t budget = std::size_t(128) << 20;
    using entry_list = std::list<std::shared_ptr<const problem_facts>>;
    entry_list entries_;
    std::unordered_multimap<std::size_t, entry_list::iterator> index_;
    std::size_t used_ = 0;
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
