/// probs_preserve_order on long rows (sorted by radix passes from 4096 classes on) and short
/// ones: it passes the reference and catches probabilities out of logit order, and ties
/// (including -0 against +0) with different probabilities.
#include <cmath>
#include <random>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "xentcheck/properties/properties.h"

namespace xp = xentcheck::properties;

namespace {

/// The reference's answers with two entries of probs exchanged (none when a == b).
class swapping final : public xp::implementation {
  public:
    swapping(std::size_t a, std::size_t b) : a_(a), b_(b) {}
    std::string name() const override { return "swapping"; }
    xp::outputs evaluate(const xp::problem& p) override {
        xp::outputs out = xp::reference_outputs(p);
        std::swap(out.probs[a_], out.probs[b_]);
        return out;
    }

  private:
    std::size_t a_, b_;
};

/// Two rows of `classes` logits with many ties, -0 and +0, large and tiny gaps and masks.
xp::problem row_problem(std::size_t classes, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    xp::problem p;
    p.rows = 2;
    p.classes = classes;
    for (std::size_t k = 0; k < 2 * classes; ++k) {
        switch (rng() % 6) {
            case 0:
                p.logits.push_back(0.0);
                break;
            case 1:
                p.logits.push_back(-0.0);
                break;
            case 2:
                p.logits.push_back(static_cast<double>(rng() % 7) - 3);
                break;
            case 3:
                p.logits.push_back(-INFINITY);
                break;
            default:
                p.logits.push_back(std::ldexp(static_cast<double>(rng() % 1000), -8) - 2);
        }
    }
    p.logits[1] = 5;    // every row has a finite maximum
    p.logits[2] = -10;  // and row 0 a unique small logit
    p.logits[classes + 1] = 5;
    p.target = std::vector<std::int64_t>{1, 1};
    return p;
}

/// The first index of row 0 holding `value` (bit for bit).
std::size_t find(const xp::problem& p, double value) {
    for (std::size_t j = 0; j < p.classes; ++j)
        if (p.logits[j] == value && std::signbit(p.logits[j]) == std::signbit(value)) return j;
    ADD_FAILURE() << "no logit " << value;
    return 0;
}

TEST(probs_preserve_order, holds_for_the_reference_on_long_and_short_rows) {
    xp::reference_implementation reference;
    for (const std::size_t classes : {std::size_t{5}, std::size_t{300}, std::size_t{5000}}) {
        const xp::problem p = row_problem(classes, classes);
        const xp::verdict v = xp::probs_preserve_order(reference, p);
        EXPECT_TRUE(v.passed) << classes << ": " << v.message;
    }
}

TEST(probs_preserve_order, catches_probabilities_out_of_logit_order) {
    for (const std::size_t classes : {std::size_t{300}, std::size_t{5000}}) {
        const xp::problem p = row_problem(classes, classes);
        swapping wrong(1, 2);  // the largest logit's probability with the smallest finite one's
        const xp::verdict v = xp::probs_preserve_order(wrong, p);
        EXPECT_FALSE(v.passed) << classes;
        EXPECT_NE(v.message.find(" < "), std::string::npos) << v.message;
    }
}

TEST(probs_preserve_order, orders_logits_closer_than_a_float_apart) {
    // Logits 4 + k 2^-30 for k in [0, 2^9), shuffled: up to 2^8 of them round to each float
    // near 4, so their order is decided only among the doubles. The reference passes; a
    // probability moved by a few such steps (relative 2^-22, far beyond the rounding bound) is
    // caught in either direction.
    for (const std::size_t classes : {std::size_t{300}, std::size_t{5000}}) {
        std::mt19937_64 rng(classes);
        xp::problem p;
        p.rows = 1;
        p.classes = classes;
        for (std::size_t j = 0; j < classes; ++j)
            p.logits.push_back(4 + std::ldexp(static_cast<double>(rng() % 512), -30));
        p.logits[0] = 4;
        p.logits[1] = 4 + std::ldexp(256.0, -30);
        p.target = std::vector<std::int64_t>{0};
        xp::reference_implementation reference;
        const xp::verdict right = xp::probs_preserve_order(reference, p);
        EXPECT_TRUE(right.passed) << classes << ": " << right.message;
        swapping wrong(0, 1);
        EXPECT_FALSE(xp::probs_preserve_order(wrong, p).passed) << classes;
    }
}

TEST(probs_preserve_order, catches_unequal_probabilities_of_tied_logits) {
    for (const std::size_t classes : {std::size_t{300}, std::size_t{5000}}) {
        const xp::problem p = row_problem(classes, classes + 1);
        // -0 ties +0: giving the -0 class the probability of a 2 breaks the tie.
        swapping wrong(find(p, -0.0), find(p, 2.0));
        const xp::verdict v = xp::probs_preserve_order(wrong, p);
        EXPECT_FALSE(v.passed) << classes;
    }
}

}  // namespace
