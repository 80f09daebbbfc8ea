/// xentcheck/properties/problem_memory.h: values remembered by the problem they belong to,
/// within a byte budget (the shared problem facts, check's remembered answers).
#pragma once

#include <cstddef>
#include <iterator>
#include <list>
#include <optional>
#include <unordered_map>
#include <utility>

#include "xentcheck/properties/problem.h"

namespace xentcheck::properties {

/// Values remembered by problem, most recently used first: found by problem_hash and confirmed
/// by same_problem (bit for bit), forgotten least recently used first when their bytes exceed
/// the budget. Each value knows its problem: `Key{}(value)` returns it, so the problem is not
/// kept twice. Not thread-safe: its owner locks.
template <class V, class Key>
class problem_memory {
  public:
    /// A memory of at most `budget` bytes (as its values are counted by remember()).
    explicit problem_memory(std::size_t budget) : budget_(budget) {}

    /// Bytes the values may take.
    std::size_t budget() const noexcept { return budget_; }

    /// The value remembered for `p` (whose problem_hash is `hash`), or null.
    const V* find(const problem& p, std::size_t hash) const {
        const auto slot = find_slot(p, hash);
        return slot ? &(*slot)->value : nullptr;
    }

    /// The same, now the most recently used.
    const V* use(const problem& p, std::size_t hash) {
        const auto slot = find_slot(p, hash);
        if (!slot) return nullptr;
        slots_.splice(slots_.begin(), slots_, *slot);
        return &slots_.front().value;
    }

    /// Remembers `value` (whose problem has problem_hash `hash`, and is not remembered yet),
    /// counted as `bytes`, as the most recently used; then forgets the least recently used
    /// while over the budget, never `value` itself. Returns the remembered value.
    const V& remember(std::size_t hash, V value, std::size_t bytes) {
        used_ += bytes;
        slots_.push_front(slot{hash, bytes, std::move(value)});
        index_.emplace(hash, slots_.begin());
        while (used_ > budget_ && slots_.size() > 1)
            erase(std::prev(slots_.end()));
        return slots_.front().value;
    }

    /// Forgets the value remembered for `p`, if any.
    void forget(const problem& p, std::size_t hash) {
        if (const auto slot = find_slot(p, hash)) erase(*slot);
    }

  private:
    struct slot {
        std::size_t hash;
        std::size_t bytes;
        V value;
    };
    using slot_list = std::list<slot>;

    std::optional<typename slot_list::iterator> find_slot(const problem& p,
                                                          std::size_t hash) const {
        const auto [first, last] = index_.equal_range(hash);
        for (auto it = first; it != last; ++it) {
            if (same_problem(Key{}(it->second->value), p)) return it->second;
        }
        return std::nullopt;
    }

    void erase(typename slot_list::iterator s) {
        const auto [first, last] = index_.equal_range(s->hash);
        for (auto it = first; it != last; ++it) {
            if (it->second == s) {
                index_.erase(it);
                break;
            }
        }
        used_ -= s->bytes;
        slots_.erase(s);
    }

    std::size_t budget_;
    std::size_t used_ = 0;
    slot_list slots_;
    std::unordered_multimap<std::size_t, typename slot_list::iterator> index_;
};

/// The bytes of a problem's arrays (for the budgets of problem_memory's users).
inline std::size_t problem_bytes(const problem& p) noexcept {
    const std::size_t targets = p.kind() == target_kind::index ? p.rows : p.logits.size();
    return sizeof(problem) + sizeof(double) * (p.logits.size() + targets + p.weight.size());
}

}  // namespace xentcheck::properties
