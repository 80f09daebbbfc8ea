/// Unit tests of the problem value type, the reference implementation and the textbook one.
#include <cmath>
#include <cstdlib>
#include <initializer_list>
#include <limits>

#include <gtest/gtest.h>

#include "xentcheck/properties/implementation.h"
#include "xentcheck/properties/planted_bugs.h"
#include "xentcheck/properties/problem.h"

namespace xp = xentcheck::properties;

namespace {

xp::problem two_rows() {
    xp::problem p;
    p.rows = 2;
    p.classes = 3;
    p.logits = {2.0, 1.0, 0.1, 0.5, -std::numeric_limits<double>::infinity(), 3.0};
    p.target = std::vector<std::int64_t>{0, -100};
    p.weight = {1.0, 2.0, 0.5};
    return p;
}

}  // namespace

TEST(problem, show_is_a_case_with_round_trip_numbers) {
    xp::problem p = two_rows();
    p.logits[1] = 0.1 + 0.2;  // 0.30000000000000004: needs 17 digits
    EXPECT_EQ(xp::show(p),
              "{\"dtype\": \"float64\", \"reduction\": \"mean\", \"logits\": [[2, "
              "0.30000000000000004, 0.1], [0.5, \"-inf\", 3]], \"target\": [0, -100], "
              "\"weight\": [1, 2, 0.5]}");
    p.target = std::vector<double>{1, 0, 0, 0.25, 0, 0.75};
    p.weight.clear();
    p.label_smoothing = 0.125;
    p.dtype = xp::scalar_type::float32;
    p.reduction = xentcheck::reduction::none;
    EXPECT_EQ(xp::show(p),
              "{\"dtype\": \"float32\", \"reduction\": \"none\", \"logits\": [[2, "
              "0.30000000000000004, 0.1], [0.5, \"-inf\", 3]], \"target\": [[1, 0, 0], [0.25, 0, "
              "0.75]], \"label_smoothing\": 0.125}");
}

TEST(problem, show_number_round_trips) {
    for (const double x : {0.1, 1.0 / 3.0, 1e-310, 5e-324, 1.7976931348623157e308, -709.78}) {
        EXPECT_EQ(std::strtod(xp::show_number(x).c_str(), nullptr), x) << xp::show_number(x);
    }
    EXPECT_EQ(xp::show_number(-std::numeric_limits<double>::infinity()), "-inf");
    EXPECT_EQ(xp::show_number(std::nan("")), "nan");
}

TEST(problem, validate_names_the_field_at_fault) {
    auto field_of = [](const xp::problem& p) -> std::string {
        try {
            xp::validate(p);
        } catch (const xentcheck::input_error& e) {
            return e.field();
        }
        return "";
    };
    EXPECT_EQ(field_of(two_rows()), "");
    xp::problem p = two_rows();
    p.logits.pop_back();
    EXPECT_EQ(field_of(p), "logits");
    p = two_rows();
    p.logits[0] = std::numeric_limits<double>::infinity();
    EXPECT_EQ(field_of(p), "logits");
    p = two_rows();
    p.target = std::vector<std::int64_t>{0, 3};
    EXPECT_EQ(field_of(p), "target");
    p = two_rows();
    p.weight.pop_back();
    EXPECT_EQ(field_of(p), "weight");
    p = two_rows();
    p.label_smoothing = 1.5;
    EXPECT_EQ(field_of(p), "label_smoothing");
    p = two_rows();
    p.dtype = xp::scalar_type::float32;
    EXPECT_EQ(field_of(p), "logits");  // 0.1 is not a float
    p.logits[2] = 0.125;
    EXPECT_EQ(field_of(p), "");
}

TEST(problem, row_problem_extracts_one_row) {
    const xp::problem p = two_rows();
    const xp::problem r = xp::row_problem(p, 1);
    EXPECT_EQ(r.rows, 1u);
    EXPECT_EQ(r.logits, (std::vector<double>{0.5, -std::numeric_limits<double>::infinity(), 3.0}));
    EXPECT_EQ(r.target_indices(), (std::vector<std::int64_t>{-100}));
    EXPECT_TRUE(r.row_ignored(0));
    EXPECT_EQ(r.weight, p.weight);
}

// Hand derivation: logits (0, ln 3), target 1: p = (1/4, 3/4), loss = ln(4/3),
// grad = p - e_1 = (1/4, -1/4).
TEST(implementation, reference_and_textbook_match_a_hand_derivation) {
    xp::problem p;
    p.rows = 1;
    p.classes = 2;
    p.logits = {0.0, std::log(3.0)};
    p.target = std::vector<std::int64_t>{1};
    xp::reference_implementation reference;
    xp::reference_implementation native(xp::reference_implementation::arithmetic::native);
    xp::planted_bug_implementation textbook(xp::planted_bug::none);
    for (xp::implementation* impl :
         {static_cast<xp::implementation*>(&reference), static_cast<xp::implementation*>(&native),
          static_cast<xp::implementation*>(&textbook)}) {
        const xp::outputs o = impl->evaluate(p);
        EXPECT_NEAR(o.probs[0], 0.25, 1e-15) << impl->name();
        EXPECT_NEAR(o.probs[1], 0.75, 1e-15) << impl->name();
        EXPECT_NEAR(o.loss[0], std::log(4.0 / 3.0), 1e-15) << impl->name();
        EXPECT_NEAR(o.grad[0], 0.25, 1e-15) << impl->name();
        EXPECT_NEAR(o.grad[1], -0.25, 1e-15) << impl->name();
    }
}

TEST(implementation, float32_problems_are_computed_in_float) {
    xp::problem p;
    p.dtype = xp::scalar_type::float32;
    p.rows = 1;
    p.classes = 3;
    p.logits = {0.5, -1.25, 2.0};
    p.target = std::vector<std::int64_t>{2};
    const xp::outputs f = xp::reference_implementation().evaluate(p);
    const xp::outputs truth = xp::reference_outputs(p);
    for (std::size_t j = 0; j < 3; ++j) {
        EXPECT_EQ(static_cast<double>(static_cast<float>(f.probs[j])), f.probs[j]);
        EXPECT_NEAR(f.probs[j], truth.probs[j], 4 * 0x1p-24);
    }
    // The truth is not rounded to float: it differs from its float rounding somewhere.
    bool finer = false;
    for (const double v : truth.probs)
        finer |= static_cast<double>(static_cast<float>(v)) != v;
    EXPECT_TRUE(finer);
}

namespace {

/// 8 x 4096 logits: more values than problem_hash() samples.
xp::problem wide() {
    xp::problem p;
    p.rows = 8;
    p.classes = 4096;
    for (std::size_t k = 0; k < p.rows * p.classes; ++k)
        p.logits.push_back(static_cast<double>(k % 97) / 8 - 6);
    p.target = std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7};
    return p;
}

}  // namespace

TEST(problem, same_problem_compares_every_bit_and_the_hash_agrees_with_it) {
    const xp::problem p = wide();
    xp::problem q = p;
    EXPECT_TRUE(xp::same_problem(p, q));
    EXPECT_EQ(xp::problem_hash(p), xp::problem_hash(q));
    // Index 1 lies between the sampled values (a precondition of what follows, not a
    // requirement on the hash): same_problem tells the two apart all the same.
    q.logits[1] += 1;
    ASSERT_EQ(xp::problem_hash(p), xp::problem_hash(q));
    EXPECT_FALSE(xp::same_problem(p, q));
    EXPECT_NE(xp::identity(p), xp::identity(q));
    // Bits, not values: -0 is another problem than +0.
    xp::problem zero = two_rows(), negative_zero = two_rows();
    zero.logits[0] = 0.0;
    negative_zero.logits[0] = -0.0;
    EXPECT_FALSE(xp::same_problem(zero, negative_zero));
    // Options, shape and targets all count, in the hash too.
    for (auto change : std::initializer_list<void (*)(xp::problem&)>{
             [](xp::problem& r) { r.label_smoothing = 0.25; },
             [](xp::problem& r) { r.reduction = xentcheck::reduction::sum; },
             [](xp::problem& r) { r.dtype = xp::scalar_type::float32; },
             [](xp::problem& r) { r.ignore_index = 2; },
             [](xp::problem& r) {
                 r.weight = {1, 1, 1};
             },
             [](xp::problem& r) {
                 r.target = std::vector<std::int64_t>{1, -100};
             },
             [](xp::problem& r) { r.target = std::vector<double>{1, 0, 0, 0, 0, 1}; }}) {
        xp::problem r = two_rows();
        change(r);
        EXPECT_FALSE(xp::same_problem(two_rows(), r)) << xp::show(r);
        EXPECT_NE(xp::problem_hash(two_rows()), xp::problem_hash(r)) << xp::show(r);
    }
}

TEST(implementation, remembered_reference_answers_are_told_apart_by_every_value) {
    // Two problems whose hashes collide (they differ between the sampled values): each gets
    // its own answer, not the one remembered for the other.
    const xp::problem p = wide();
    xp::problem q = p;
    q.logits[1] += 3;
    ASSERT_EQ(xp::problem_hash(p), xp::problem_hash(q));
    const xp::outputs first = xp::reference_outputs(p);
    const xp::outputs second = xp::reference_outputs(q);
    EXPECT_GT(second.probs[1], first.probs[1]);
    EXPECT_EQ(xp::reference_outputs(p).probs, first.probs);
    EXPECT_EQ(second.probs, xp::reference_implementation().evaluate(q).probs);
}
