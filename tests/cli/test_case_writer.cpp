/// Unit tests of the case writer: every case read back from its written form is the same case.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "cli_test_support.h"
#include "xentcheck/cli/case_parse.h"
#include "xentcheck/cli/case_reader.h"
#include "xentcheck/cli/case_writer.h"
#include "xentcheck/cli/json_parse.h"

namespace xentcheck::cli {
namespace {

/// Bitwise equality, so NaN equals NaN and -0 differs from +0.
bool same(const std::vector<double>& a, const std::vector<double>& b) {
    return a.size() == b.size() &&
           (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

void expect_same_case(const eval_case& a, const eval_case& b) {
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.note, b.note);
    EXPECT_EQ(a.from_probs, b.from_probs);
    EXPECT_EQ(a.batched, b.batched);
    EXPECT_EQ(a.rows, b.rows);
    EXPECT_EQ(a.classes, b.classes);
    EXPECT_TRUE(same(a.given, b.given));
    EXPECT_TRUE(same(a.logits, b.logits));
    EXPECT_EQ(a.target_kind, b.target_kind);
    EXPECT_EQ(a.target_is_scalar, b.target_is_scalar);
    EXPECT_EQ(a.target_indices, b.target_indices);
    EXPECT_TRUE(same(a.target_probs, b.target_probs));
    EXPECT_TRUE(same(a.weight, b.weight));
    EXPECT_EQ(a.ignore_index, b.ignore_index);
    EXPECT_EQ(a.label_smoothing, b.label_smoothing);
    EXPECT_EQ(a.reduction, b.reduction);
    EXPECT_EQ(a.dtype, b.dtype);
    EXPECT_EQ(a.expect.has_probs, b.expect.has_probs);
    EXPECT_EQ(a.expect.has_loss, b.expect.has_loss);
    EXPECT_EQ(a.expect.has_grad, b.expect.has_grad);
    EXPECT_EQ(a.expect.loss_is_array, b.expect.loss_is_array);
    EXPECT_TRUE(same(a.expect.probs, b.expect.probs));
    EXPECT_TRUE(same(a.expect.loss, b.expect.loss));
    EXPECT_TRUE(same(a.expect.grad, b.expect.grad));
    ASSERT_EQ(a.tolerance.has_value(), b.tolerance.has_value());
    if (a.tolerance) {
        EXPECT_EQ(a.tolerance->rtol, b.tolerance->rtol);
        EXPECT_EQ(a.tolerance->atol, b.tolerance->atol);
    }
}

void expect_round_trip(const eval_case& c) {
    const std::string text = case_to_json(c);
    EXPECT_EQ(text.find('\n'), std::string::npos) << "one line for JSON Lines";
    eval_case back;
    back.index = c.index;
    ASSERT_NO_THROW(parse_case(parse_json_text(text), back)) << text;
    expect_same_case(c, back);
    EXPECT_EQ(case_to_json(back), text);
}

TEST(CaseWriter, EveryFixtureCaseRoundTrips) {
    std::size_t cases = 0;
    for (const char* file :
         {"fixtures/worked_example.json", "fixtures/cases/object.json", "fixtures/cases/array.json",
          "fixtures/cases/wrapped.json", "fixtures/cases/lines.jsonl",
          "fixtures/cases/failing/grad_wrt_probs.json"}) {
        case_reader reader(testing::source_path(file));
        for (auto s = reader.next(); s != case_reader::status::done; s = reader.next()) {
            ASSERT_EQ(s, case_reader::status::ok) << reader.problem().to_string();
            SCOPED_TRACE(reader.current().display_name());
            expect_round_trip(reader.current());
            ++cases;
        }
    }
    EXPECT_EQ(cases, 1u + 1 + 7 + 2 + 3 + 1);
}

TEST(CaseWriter, EveryOptionAndNonFiniteValueRoundTrips) {
    eval_case c;
    parse_case(parse_json_text(R"({"name": "quote \" and \\ and \u00e9", "note": "n",
        "logits": [[1e-300, -0.0, "inf"], [NaN, 0.1, -Infinity]], "target": [2, 7],
        "weight": [0.5, 1, 2], "ignore_index": 7, "label_smoothing": 0.125,
        "reduction": "none", "dtype": "float32",
        "expect": {"probs": [[0, 0, 1], ["nan", "nan", "nan"]], "loss": [1e308, "nan"],
                   "grad": [[0, 0, 0], [1, 2, 3]]},
        "tolerance": {"atol": 1e-9}})"),
               c);
    expect_round_trip(c);
    eval_case probs;
    parse_case(
        parse_json_text(R"({"probs": [[0.5, 0.5], [1, 0]], "target": [[0, 1], [0.5, 0.5]]})"),
        probs);
    expect_round_trip(probs);
    eval_case one;
    parse_case(parse_json_text(R"({"logits": [[3, 4]], "target": 1, "reduction": "none",
        "expect": {"loss": 0.5}})"),
               one);
    expect_round_trip(one);
}

}  // namespace
}  // namespace xentcheck::cli
