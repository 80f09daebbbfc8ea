/// Unit tests of problem_memory: values found by the exact problem, forgotten least recently
/// used first past the budget, never the newest.
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "xentcheck/properties/problem_memory.h"

namespace xp = xentcheck::properties;

namespace {

/// A problem of 2 x 2048 logits (more than problem_hash samples), the k-th of a family.
xp::problem numbered(int k) {
    xp::problem p;
    p.rows = 2;
    p.classes = 2048;
    for (std::size_t j = 0; j < p.rows * p.classes; ++j)
        p.logits.push_back(static_cast<double>(j % 31) + k);
    p.target = std::vector<std::int64_t>{0, 1};
    return p;
}

using value = std::pair<xp::problem, std::string>;
struct problem_of {
    const xp::problem& operator()(const value& v) const { return v.first; }
};
using memory = xp::problem_memory<value, problem_of>;

const std::string* find(const memory& m, const xp::problem& p) {
    const value* v = m.find(p, xp::problem_hash(p));
    return v ? &v->second : nullptr;
}

void remember(memory& m, const xp::problem& p, std::string name, std::size_t bytes) {
    m.remember(xp::problem_hash(p), value{p, std::move(name)}, bytes);
}

}  // namespace

TEST(problem_memory, finds_the_exact_problem_even_when_hashes_collide) {
    memory m(1000);
    const xp::problem p = numbered(0);
    xp::problem q = p;
    q.logits[1] += 1;                                     // between the sampled values
    ASSERT_EQ(xp::problem_hash(p), xp::problem_hash(q));  // precondition
    remember(m, p, "p", 10);
    ASSERT_NE(find(m, p), nullptr);
    EXPECT_EQ(*find(m, p), "p");
    EXPECT_EQ(find(m, q), nullptr);
    remember(m, q, "q", 10);
    EXPECT_EQ(*find(m, p), "p");
    EXPECT_EQ(*find(m, q), "q");
    m.forget(p, xp::problem_hash(p));
    EXPECT_EQ(find(m, p), nullptr);
    EXPECT_EQ(*find(m, q), "q");
}

TEST(problem_memory, forgets_the_least_recently_used_past_the_budget_never_the_newest) {
    memory m(25);
    const xp::problem a = numbered(1), b = numbered(2), c = numbered(3), big = numbered(4);
    remember(m, a, "a", 10);
    remember(m, b, "b", 10);
    // Using a makes b the least recently used.
    ASSERT_NE(m.use(a, xp::problem_hash(a)), nullptr);
    remember(m, c, "c", 10);
    EXPECT_NE(find(m, a), nullptr);
    EXPECT_EQ(find(m, b), nullptr);
    EXPECT_NE(find(m, c), nullptr);
    // A value over the budget on its own is kept, alone.
    remember(m, big, "big", 100);
    EXPECT_EQ(find(m, a), nullptr);
    EXPECT_EQ(find(m, c), nullptr);
    ASSERT_NE(find(m, big), nullptr);
    EXPECT_EQ(*find(m, big), "big");
}
