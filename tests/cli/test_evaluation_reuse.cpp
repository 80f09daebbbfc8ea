/// Tests that an evaluator reused case after case (it keeps its check entries and buffers)
/// reports exactly what a fresh evaluator reports for each case.
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "check_result_difference.h"
#include "finite_difference_rows.h"
#include "xentcheck/cli/case_parse.h"
#include "xentcheck/cli/evaluation.h"
#include "xentcheck/cli/json_parse.h"
#include "xentcheck/tolerance.h"

namespace xentcheck::cli {
namespace {

eval_case make_case(const std::string& text) {
    eval_case c;
    parse_case(parse_json_text(text), c);
    return c;
}

/// Every field of two check entries is the same (doubles bit for bit).
void expect_same(const check_entry& a, const check_entry& b, const std::string& where) {
    SCOPED_TRACE(where + ", " + a.result.name);
    EXPECT_EQ(a.skipped, b.skipped);
    EXPECT_EQ(a.skip_reason, b.skip_reason);
    EXPECT_EQ(test_support::check_result_difference(a.result, b.result), "");
}

TEST(EvaluationReuse, AReusedEvaluatorReportsWhatAFreshOneReports) {
    const std::string worked = R"("probs": [0.3, 0.6, 0.1], "target": 0)";
    // Cases with many checks, few checks, failures with findings, skipped checks (mixed-sign
    // targets, an infinite loss, logits no step can difference), a case tolerance, float32,
    // undefined rows; then the first ones again, so entries are reused in every role.
    const std::vector<std::string> texts = {
        "{" + worked + R"(, "expect": {"probs": [0.3, 0.6, 0.1],
            "loss": 1.20397280432593599262, "grad": [-0.7, 0.6, 0.1]}})",
        R"({"logits": [1, -1, 0.5], "target": 0})",
        "{" + worked + R"(, "expect": {"grad": [-3.3333333333333335, 0, 0]}})",
        R"({"logits": [[1, 2], [3, 0]], "target": [[2, -1], [0.5, 0.5]], "reduction": "none",
            "expect": {"loss": [0, 0], "probs": [[0.2, 0.8], [0.9, 0.1]]}})",
        R"({"logits": [0, "-inf", 1], "target": 1, "expect": {"loss": "inf",
            "grad": [0.2689414213699951, -1, 0.7310585786300049]}})",
        R"({"logits": [1e300, -1e300, 5e299], "target": 0, "expect": {"loss": 0}})",
        "{" + worked + R"(, "expect": {"probs": [1.01, 0, 0], "grad": [-0.7, 0.6, 0.2]},
            "tolerance": {"atol": 1e-3}})",
        "{" + worked + R"(, "dtype": "float32", "expect": {"loss": 1.2039728,
            "grad": [-0.7, 0.6, 0.1], "probs": [0.3, 0.6, 0.1]}})",
        R"({"logits": [[NaN, 1, 2], [1, 2, 3]], "target": [0, 1], "reduction": "none",
            "expect": {"loss": ["nan", 0.5], "grad": [[0, 0, 0], [0.1, -0.9, 0.8]]}})",
    };
    std::vector<std::string> sequence = texts;
    sequence.insert(sequence.end(), texts.begin(), texts.begin() + 4);
    sequence.push_back(texts[1]);
    sequence.push_back(texts[0]);
    evaluator reused;
    for (std::size_t k = 0; k < sequence.size(); ++k) {
        const eval_case c = make_case(sequence[k]);
        evaluator fresh;
        const evaluation& want = fresh.evaluate(c);
        const evaluation& got = reused.evaluate(c);
        const std::string where = "case " + std::to_string(k);
        EXPECT_EQ(got.failed(), want.failed()) << where;
        ASSERT_EQ(got.checks.size(), want.checks.size()) << where;
        for (std::size_t j = 0; j < got.checks.size(); ++j)
            expect_same(got.checks[j], want.checks[j], where);
    }
}

// The finite-difference check given the case's own measurement (which it uses instead of
// measuring the rows differenced where both agree) reports what it reports measuring them.
TEST(EvaluationReuse, FiniteDifferenceWithTheCasesScaleEqualsMeasuringAgain) {
    const std::vector<std::string> texts = {
        R"({"logits": [1, -1, 0.5], "target": 0})",
        R"({"logits": [[1, -1, 0.5], [2, 0, -3]], "target": [0, 2], "reduction": "sum"})",
        R"({"logits": [[1, -1, 0.5], [2, 0, -3]], "target": [0, 2]})",
        R"({"logits": [[1, -1, 0.5], [2, 0, -3]], "target": [0, 2], "reduction": "none"})",
        R"({"logits": [1, -1, 0.5], "target": 1, "weight": [0.5, 1, 2]})",
        R"({"logits": [[1, -1, 0.5], [2, 0, -3]], "target": [1, -100], "weight": [3, 1, 2]})",
        R"({"logits": [[1, -1], [2, 0]], "target": [[0.25, 0.75], [1, 0]]})",
        R"({"logits": [4, -2, 0.5, 1], "target": 3, "label_smoothing": 0.1})",
        R"({"logits": [[1, -1, 0.5], [2, 0, -3]], "target": [0, 2], "weight": [1, 1, -1]})",
    };
    for (const std::string& text : texts) {
        const eval_case c = make_case(text);
        evaluator ev;
        std::vector<double> grad = ev.evaluate(c).grad;
        grad[1] += 1e-7;  // a planted error, so findings are compared as well
        std::vector<std::size_t> rows(c.rows);
        for (std::size_t i = 0; i < rows.size(); ++i)
            rows[i] = i;
        const xentcheck::problem_scale scale = xentcheck::measure_problem(
            xentcheck::unit_roundoff<double>(), c.logits, c.classes, c.target(), c.options());
        detail::finite_difference_scratch scratch;
        check_entry measured, given;
        detail::check_grad_by_finite_differences(measured, c, grad, rows, scratch);
        detail::check_grad_by_finite_differences(
            given, c, grad, rows, scratch, std::numeric_limits<long double>::quiet_NaN(), &scale);
        // (The last case's mean divisor is 0: the check is skipped, in both forms.)
        EXPECT_NE(measured.result.passed, !measured.skipped) << text;
        expect_same(given, measured, text);
    }
}

}  // namespace
}  // namespace xentcheck::cli
