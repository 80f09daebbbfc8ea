/// Unit tests of evaluation: the reference values, each check passing on correct values and
/// catching planted mistakes, and the rules for skipped checks and undefined rows.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "cli_test_support.h"
#include "finite_difference_rows.h"
#include "xentcheck/cli/case_parse.h"
#include "xentcheck/cli/evaluation.h"
#include "xentcheck/cli/json_out.h"
#include "xentcheck/cli/json_parse.h"

namespace xentcheck::cli {
namespace {

eval_case case_from(const nlohmann::json& value) {
    eval_case c;
    parse_case(value, c);
    return c;
}

eval_case make_case(const std::string& text) {
    return case_from(parse_json_text(text));
}

const check_entry* find_check(const evaluation& e, const std::string& name) {
    for (const auto& c : e.checks)
        if (c.result.name == name) return &c;
    return nullptr;
}

std::string status_of(const evaluation& e, const std::string& name) {
    const check_entry* c = find_check(e, name);
    return c ? c->status() : "absent";
}

const std::string worked = R"("probs": [0.3, 0.6, 0.1], "target": 0)";

TEST(Evaluation, WorkedExamplePassesEveryCheck) {
    evaluator ev;
    const eval_case c = make_case("{" + worked + R"(, "expect": {"probs": [0.3, 0.6, 0.1],
        "loss": 1.20397280432593599262, "grad": [-0.7, 0.6, 0.1]}})");
    const evaluation& e = ev.evaluate(c);
    EXPECT_FALSE(e.failed());
    const char* names[] = {"probs_in_unit_interval",
                           "probs_sum_to_one",
                           "grad_rows_sum_to_zero",
                           "loss_nonnegative",
                           "grad_matches_finite_difference",
                           "expect.probs",
                           "expect.probs_in_unit_interval",
                           "expect.probs_sum_to_one",
                           "expect.loss",
                           "expect.grad",
                           "expect.grad_rows_sum_to_zero"};
    ASSERT_EQ(e.checks.size(), std::size(names));
    for (std::size_t k = 0; k < e.checks.size(); ++k) {
        EXPECT_EQ(e.checks[k].result.name, names[k]);
        EXPECT_STREQ(e.checks[k].status(), "pass") << names[k];
        EXPECT_GT(e.checks[k].result.checked, 0u) << names[k];
    }
    // -ln 0.3 = ln 10 - ln 3 = 2.302585092994045684 - 1.098612288668109691.
    EXPECT_LE(testing::ulp_distance(e.loss[0], 1.203972804325935993), 4u);
    EXPECT_LE(testing::ulp_distance(e.grad[0], -0.7), 4u);
    EXPECT_LE(testing::ulp_distance(e.grad[1], 0.6), 4u);
    EXPECT_LE(testing::ulp_distance(e.grad[2], 0.1), 4u);
}

TEST(Evaluation, GradientWithRespectToProbabilitiesIsCaught) {
    // dE/dp = -y / p = [-1/0.3, 0, 0]: the classic slip when deriving by hand.
    evaluator ev;
    const evaluation& e = ev.evaluate(
        make_case("{" + worked + R"(, "expect": {"grad": [-3.3333333333333335, 0, 0]}})"));
    EXPECT_TRUE(e.failed());
    const check_entry* g = find_check(e, "expect.grad");
    ASSERT_TRUE(g);
    EXPECT_FALSE(g->result.passed);
    EXPECT_EQ(g->result.violations, 3u);
    ASSERT_FALSE(g->result.findings.empty());
    EXPECT_EQ(g->result.findings[0].where.to_string(), "row 0, class 0");
    EXPECT_LE(testing::ulp_distance(g->result.findings[0].expected, -0.7), 4u);
    EXPECT_EQ(g->result.findings[0].actual, -3.3333333333333335);
    EXPECT_EQ(status_of(e, "expect.grad_rows_sum_to_zero"), "fail");
    EXPECT_EQ(status_of(e, "grad_matches_finite_difference"), "pass");  // the reference is fine
}

TEST(Evaluation, LossComparisonHasTheModelsWidthOnly) {
    evaluator ev;
    const double loss = 1.203972804325936;
    const auto with_loss = [&](double v) {
        return ev
            .evaluate(make_case("{" + worked + R"(, "expect": {"loss": )" + json_number(v) + "}}"))
            .failed();
    };
    EXPECT_FALSE(with_loss(loss));
    EXPECT_FALSE(with_loss(std::nextafter(loss, 2.0)));
    EXPECT_TRUE(with_loss(loss + 1e-12));  // float64 model: about 1e-14
    EXPECT_TRUE(with_loss(-std::log(0.3f)));
}

TEST(Evaluation, GivenProbabilitiesMustSumToOne) {
    evaluator ev;
    const evaluation& e =
        ev.evaluate(make_case("{" + worked + R"(, "expect": {"probs": [0.3, 0.6, 0.2]}})"));
    EXPECT_EQ(status_of(e, "expect.probs"), "fail");
    EXPECT_EQ(status_of(e, "expect.probs_sum_to_one"), "fail");
    EXPECT_EQ(status_of(e, "expect.probs_in_unit_interval"), "pass");
    const evaluation& negative =
        ev.evaluate(make_case("{" + worked + R"(, "expect": {"probs": [1.1, -0.1, 0]}})"));
    EXPECT_EQ(status_of(negative, "expect.probs_in_unit_interval"), "fail");
}

TEST(Evaluation, DtypeSetsTheWidthOfExpectComparisons) {
    // Values rounded to float32 pass as float32 and fail as float64.
    const float p[] = {0.3f, 0.6f, 0.1f};
    nlohmann::json value = parse_json_text("{" + worked + "}");
    value["expect"] = {{"loss", double(-std::log(0.3f))},
                       {"grad", {double(p[0] - 1.0f), double(p[1]), double(p[2])}}};
    evaluator ev;
    const evaluation& as64 = ev.evaluate(case_from(value));
    EXPECT_EQ(status_of(as64, "expect.loss"), "fail");
    EXPECT_EQ(status_of(as64, "expect.grad"), "fail");
    value["dtype"] = "float32";
    EXPECT_FALSE(ev.evaluate(case_from(value)).failed());
}

TEST(Evaluation, CaseToleranceReplacesTheModel) {
    evaluator ev;
    const std::string expect = R"(, "expect": {"loss": 1.2045, "grad": [-0.7005, 0.6, 0.1]})";
    EXPECT_TRUE(ev.evaluate(make_case("{" + worked + expect + "}")).failed());
    const evaluation& e =
        ev.evaluate(make_case("{" + worked + expect + R"(, "tolerance": {"rtol": 1e-3}})"));
    EXPECT_FALSE(e.failed());
    EXPECT_EQ(find_check(e, "expect.loss")->result.used.rtol, 1e-3);
    EXPECT_EQ(find_check(e, "expect.loss")->result.used.atol, 0);
    // The invariants of the given values are held to the same tolerance: a gradient row that
    // sums to 0.1 still fails.
    const evaluation& off = ev.evaluate(make_case(
        "{" + worked + R"(, "expect": {"grad": [-0.7, 0.6, 0.2]}, "tolerance": {"rtol": 1e-3}})"));
    EXPECT_EQ(status_of(off, "expect.grad"), "fail");
    EXPECT_EQ(status_of(off, "expect.grad_rows_sum_to_zero"), "fail");
    const evaluation& probs = ev.evaluate(
        make_case("{" + worked +
                  R"(, "expect": {"probs": [0.3004, 0.6, 0.1]}, "tolerance": {"rtol": 1e-3}})"));
    EXPECT_EQ(status_of(probs, "expect.probs_sum_to_one"), "pass");
    const evaluation& over = ev.evaluate(make_case(
        "{" + worked + R"(, "expect": {"probs": [1.01, 0, 0]}, "tolerance": {"atol": 1e-3}})"));
    EXPECT_EQ(status_of(over, "expect.probs_in_unit_interval"), "fail");
}

TEST(Evaluation, LossNonnegativeIsSkippedForNegativeTargetMass) {
    evaluator ev;
    const evaluation& e = ev.evaluate(make_case(
        R"({"logits": [[1, 2], [3, 0]], "target": [[2, -1], [0.5, 0.5]], "reduction": "none"})"));
    const check_entry* c = find_check(e, "loss_nonnegative");
    ASSERT_TRUE(c);
    EXPECT_TRUE(c->skipped);
    EXPECT_NE(c->skip_reason.find("negative"), std::string::npos);
    EXPECT_FALSE(e.failed());
    const evaluation& weighted =
        ev.evaluate(make_case(R"({"logits": [1, 2], "target": 0, "weight": [1, -1]})"));
    EXPECT_EQ(status_of(weighted, "loss_nonnegative"), "skipped");
    const evaluation& positive = ev.evaluate(make_case(R"({"logits": [1, 2], "target": 0})"));
    EXPECT_EQ(status_of(positive, "loss_nonnegative"), "pass");
}

TEST(Evaluation, InfiniteLossHasNoFiniteDifference) {
    evaluator ev;
    const evaluation& e = ev.evaluate(make_case(
        R"({"logits": [0, "-inf", 1], "target": 1, "expect": {"loss": "inf", "grad": [0.2689414213699951, -1, 0.7310585786300049]}})"));
    EXPECT_TRUE(std::isinf(e.loss[0]));
    const check_entry* fd = find_check(e, "grad_matches_finite_difference");
    ASSERT_TRUE(fd);
    EXPECT_TRUE(fd->skipped);
    EXPECT_FALSE(e.failed());
}

TEST(Evaluation, FiniteDifferenceThatCanCompareNothingIsSkippedWithItsReason) {
    evaluator ev;
    const evaluation& huge =
        ev.evaluate(make_case(R"({"logits": [1e300, -1e300, 5e299], "target": 0})"));
    const check_entry* fd = find_check(huge, "grad_matches_finite_difference");
    ASSERT_TRUE(fd);
    EXPECT_TRUE(fd->skipped);
    EXPECT_NE(fd->skip_reason.find("no finite step"), std::string::npos) << fd->skip_reason;
    EXPECT_FALSE(huge.failed());
    // Ordinary logits are still compared.
    const evaluation& small = ev.evaluate(make_case(R"({"logits": [1, -1, 0.5], "target": 0})"));
    EXPECT_EQ(status_of(small, "grad_matches_finite_difference"), "pass");
    EXPECT_EQ(find_check(small, "grad_matches_finite_difference")->result.checked, 3u);
}

TEST(Evaluation, UndefinedRowsAreLeftOutOfInvariantsButMustBeNaNInExpect) {
    evaluator ev;
    const std::string input =
        R"("logits": [[NaN, 1, 2], [1, 2, 3], ["inf", 0, 0], ["-inf", "-inf", "-inf"]],
           "target": [0, 1, 2, 0], "reduction": "none")";
    const evaluation& e = ev.evaluate(make_case("{" + input + R"(, "expect": {"loss":
        ["nan", 1.4076059644443804, "nan", "nan"]}})"));
    EXPECT_FALSE(e.failed());
    EXPECT_EQ(find_check(e, "probs_sum_to_one")->result.checked, 1u);
    EXPECT_EQ(find_check(e, "probs_sum_to_one")->result.worst->row, 1u);
    const evaluation& finite_where_nan = ev.evaluate(make_case("{" + input + R"(, "expect": {"loss":
        [0.5, 1.4076059644443804, "nan", "nan"]}})"));
    EXPECT_EQ(status_of(finite_where_nan, "expect.loss"), "fail");
    EXPECT_EQ(find_check(finite_where_nan, "expect.loss")->result.findings.at(0).where.row, 0u);
}

TEST(Evaluation, IgnoredUndefinedRowHasZeroGradient) {
    evaluator ev;
    const evaluation& e = ev.evaluate(make_case(
        R"({"logits": [[NaN, 1], [1, 2]], "target": [-100, 1], "reduction": "sum",
            "expect": {"grad": [[0, 0], [0.2689414213699951, -0.2689414213699951]]}})"));
    EXPECT_EQ(status_of(e, "expect.grad"), "pass");
    EXPECT_FALSE(e.failed());
}

TEST(Evaluation, FiniteDifferenceCheckCatchesAPerturbedGradient) {
    const eval_case c =
        make_case(R"({"logits": [[0.5, -1, 2, 0], [3, 3, 1, -2]], "target": [2, 0]})");
    evaluator ev;
    std::vector<double> grad = ev.evaluate(c).grad;
    std::vector<std::size_t> rows = {0, 1};
    detail::finite_difference_scratch scratch;
    EXPECT_TRUE(detail::check_grad_by_finite_differences(c, grad, rows, scratch).result.passed);
    grad[5] += 1e-7;  // row 1, class 1
    const check_entry bad = detail::check_grad_by_finite_differences(c, grad, rows, scratch);
    EXPECT_FALSE(bad.result.passed);
    ASSERT_EQ(bad.result.findings.size(), 1u);
    EXPECT_EQ(bad.result.findings[0].where.to_string(), "row 1, class 1");
}

// The loss the finite-difference check differences for index targets: within the loss bound
// it is given of lib's long double loss, at the base point, after one small step (the series
// path), after large steps and after moving several coordinates (the row-by-row path).
TEST(Evaluation, CachedIndexLossAgreesWithTheReferenceLoss) {
    std::mt19937_64 rng(11);
    std::uniform_real_distribution<double> unit(0, 1);
    for (int k = 0; k < 400; ++k) {
        const std::size_t rows = 1 + rng() % 4, classes = 1 + rng() % 7;
        const double spread = std::pow(10.0, static_cast<double>(rng() % 4) - 1);
        std::vector<double> x(rows * classes);
        for (auto& v : x)
            v = (unit(rng) - 0.5) * spread;
        std::vector<std::int64_t> t(rows);
        for (auto& v : t)
            v = rng() % 5 == 0 ? -100 : static_cast<std::int64_t>(rng() % classes);
        std::vector<double> w(classes);
        for (auto& v : w)
            v = unit(rng) * 2 - 0.25;  // some negative weights too
        xentcheck::cross_entropy_options o;
        if (rng() % 2) o.weight = w;
        o.reduction = xentcheck::reduction::sum;
        const long double scale = rng() % 2 ? 1.0L : 0.37L;
        const auto target = xentcheck::target_view::indices(t);
        detail::cached_index_loss cached;
        ASSERT_TRUE(cached.prepare(x, classes, t, o, scale));
        const xentcheck::tolerance_model model(xentcheck::measure_problem(
            xentcheck::unit_roundoff<long double>(), x, classes, target, o));
        std::vector<long double> z(x.begin(), x.end());
        const auto expect_close = [&](const char* what) {
            const long double reference =
                scale * xentcheck::cross_entropy_loss<long double>(z, classes, target, o);
            const double bound =
                static_cast<double>(scale) *
                model.loss().bound(std::abs(static_cast<double>(reference / scale)));
            ASSERT_LE(std::abs(static_cast<double>(cached(z) - reference)), bound)
                << what << ", case " << k;
        };
        expect_close("base point");
        const std::size_t j = rng() % z.size();
        for (const long double h : {1e-6L, -3e-4L, 0.5L, -2.0L}) {
            z[j] = x[j] + h;
            expect_close("one coordinate moved");
        }
        for (auto& v : z)
            v += (unit(rng) - 0.5) * 1e-3;
        expect_close("every coordinate moved");
    }
    // Outside its form it declines (the check then differences lib's loss).
    detail::cached_index_loss cached;
    const std::vector<std::int64_t> t = {0};
    xentcheck::cross_entropy_options smoothed;
    smoothed.label_smoothing = 0.1;
    EXPECT_FALSE(cached.prepare(std::vector<double>{1, 2}, 2, t, smoothed, 1));
    EXPECT_FALSE(cached.prepare(std::vector<double>{1, -INFINITY}, 2, t, {}, 1));
    EXPECT_FALSE(cached.prepare(std::vector<double>{1, 0x1p21}, 2, t, {}, 1));
    EXPECT_FALSE(cached.prepare(std::vector<double>{1, 2}, 2, std::vector<std::int64_t>{2}, {}, 1));
}

TEST(Evaluation, FiniteDifferenceOnALargeBatchSamplesRows) {
    // 3000 rows x 10 classes: the check differences a sample, and maps rows back.
    nlohmann::json value = {{"logits", nlohmann::json::array()},
                            {"target", nlohmann::json::array()}};
    for (int i = 0; i < 3000; ++i) {
        nlohmann::json row = nlohmann::json::array();
        for (int j = 0; j < 10; ++j)
            row.push_back(((i * 7 + j * 3) % 11) * 0.37 - 2);
        value["logits"].push_back(row);
        value["target"].push_back(i % 10);
    }
    const eval_case c = case_from(value);
    evaluator ev;
    const evaluation& e = ev.evaluate(c);
    const check_entry* fd = find_check(e, "grad_matches_finite_difference");
    ASSERT_TRUE(fd);
    EXPECT_TRUE(fd->result.passed);
    EXPECT_GT(fd->result.checked, 0u);
    EXPECT_LE(fd->result.checked, detail::max_differenced_values);
    // Row 1000 is in the sample (rows k * 3000 / 102); its largest entry is always differenced.
    std::vector<double> grad = e.grad;
    std::size_t worst = 1000 * 10;
    for (std::size_t j = 1; j < 10; ++j)
        if (std::abs(grad[1000 * 10 + j]) > std::abs(grad[worst])) worst = 1000 * 10 + j;
    grad[worst] *= 1.01;
    std::vector<std::size_t> rows(3000);
    for (std::size_t i = 0; i < rows.size(); ++i)
        rows[i] = i;
    detail::finite_difference_scratch scratch;
    const check_entry bad = detail::check_grad_by_finite_differences(c, grad, rows, scratch);
    EXPECT_FALSE(bad.result.passed);
    ASSERT_FALSE(bad.result.findings.empty());
    EXPECT_EQ(bad.result.findings[0].where.row, 1000u);
}

TEST(Evaluation, ReferenceChecksHoldOnRandomCases) {
    // No false alarms: the reference passes its own invariants over many options and scales.
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> unit(0, 1);
    evaluator ev;
    for (int k = 0; k < 300; ++k) {
        const int rows = 1 + static_cast<int>(rng() % 4), classes = 1 + static_cast<int>(rng() % 6);
        const double scale = std::pow(10.0, static_cast<double>(rng() % 5) - 1);
        nlohmann::json logits = nlohmann::json::array(), target = nlohmann::json::array(),
                       weight = nlohmann::json::array();
        const bool probability = rng() % 3 == 0;
        for (int i = 0; i < rows; ++i) {
            nlohmann::json row = nlohmann::json::array(), target_row = nlohmann::json::array();
            for (int j = 0; j < classes; ++j) {
                row.push_back((unit(rng) - 0.5) * scale);
                target_row.push_back(unit(rng));
            }
            logits.push_back(row);
            if (probability) {
                target.push_back(target_row);
            } else {
                target.push_back(rng() % static_cast<unsigned>(classes));
            }
        }
        for (int j = 0; j < classes; ++j)
            weight.push_back(0.1 + unit(rng));
        const char* reductions[] = {"none", "mean", "sum"};
        const nlohmann::json value = {{"logits", logits},
                                      {"target", target},
                                      {"weight", weight},
                                      {"label_smoothing", rng() % 2 ? 0.0 : unit(rng)},
                                      {"reduction", reductions[rng() % 3]}};
        const std::string text = value.dump();
        const evaluation& e = ev.evaluate(case_from(value));
        for (const auto& c : e.checks) {
            EXPECT_FALSE(!c.skipped && !c.result.passed) << c.result.name << " on " << text;
        }
    }
}

}  // namespace
}  // namespace xentcheck::cli
