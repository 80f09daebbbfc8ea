/// evaluate_files: the report is the same, event for event, whatever the thread count, batch
/// size and mix of cases, problems and large cases; and `eval --jobs` writes the same bytes.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "cli_test_support.h"
#include "xentcheck/cli/eval_run.h"
#include "xentcheck/cli/json_numbers.h"

namespace xentcheck::cli {
namespace {

/// Records every event a report receives as one line of text.
class recording_report final : public report {
  public:
    std::vector<std::string> events;

    void add_case(const std::string& file, const eval_case& c, const evaluation& e) override {
        std::string s = fmt::format("case {} {} {} {}", file, c.index, c.display_name(),
                                    e.failed() ? "fail" : "pass");
        for (const auto* values : {&e.probs, &e.loss, &e.grad})
            for (const double v : *values)
                s.append(" ").append(json_number(v));
        for (const check_entry& k : e.checks) {
            s += fmt::format(" | {} {} {} {}", k.result.name, k.status(), k.result.checked,
                             json_number(k.result.max_abs_error));
        }
        events.push_back(std::move(s));
    }
    void add_problem(const input_problem& p) override {
        events.push_back("problem " + p.to_string());
    }
    void finish(const run_summary&) override {}
};

/// Temporary case files: many small valid cases, bad lines, and cases wider than a test batch.
class case_files {
  public:
    case_files() {
        char pattern[] = "/tmp/xentcheck_eval_run_XXXXXX";
        dir_ = ::mkdtemp(pattern);
        std::mt19937_64 rng(5);
        std::ofstream lines(path("many.jsonl"));
        for (int k = 0; k < 700; ++k) {
            const std::size_t classes = k % 97 == 5 ? 150 : 1 + rng() % 6;  // some > 64 logits
            std::string logits;
            for (std::size_t j = 0; j < classes; ++j) {
                if (j) logits.push_back(',');
                logits.append(json_number(static_cast<double>(rng() % 2001) / 100.0 - 10.0));
            }
            if (k % 41 == 3) {
                lines << "{\"logits\": [" << logits << "], \"target\": " << classes << "}\n";
            } else if (k % 53 == 7) {
                lines << "{\"logits\": [" << logits << "\n";  // not JSON
            } else if (k % 67 == 9) {
                lines << "\n";  // blank: not a case
            } else {
                lines << "{\"name\": \"c" << k << "\", \"logits\": [" << logits
                      << "], \"target\": " << rng() % classes
                      << (k % 5 == 0 ? ", \"expect\": {\"loss\": 1.5}" : "") << "}\n";
            }
        }
        std::ofstream array(path("few.json"));
        array << R"([{"logits": [1, 2], "target": 0}, {"logits": [[1, 2], [3, 4]], "target": [1, 0],
                    "reduction": "none"}, {"logits": [1], "target": 3}])";
    }
    ~case_files() {
        for (const char* f : {"many.jsonl", "few.json"})
            std::remove(path(f).c_str());
        ::rmdir(dir_.c_str());
    }
    std::string path(const std::string& name) const { return dir_ + "/" + name; }
    std::vector<std::string> all() const {
        return {path("many.jsonl"), path("missing.json"), path("few.json"), path("many.jsonl")};
    }

  private:
    std::string dir_;
};

TEST(EvalRun, EveryThreadCountAndBatchSizeReportsTheSameEventsInOrder) {
    const case_files files;
    recording_report sequential;
    const run_summary expected = evaluate_files(files.all(), sequential, {});
    ASSERT_GT(expected.passed, 1000u);
    ASSERT_GT(expected.failed, 100u);
    ASSERT_GT(expected.errors, 20u);
    for (const eval_run_options options :
         {eval_run_options{2, 64, 1 << 14}, eval_run_options{3, 4, 64}, eval_run_options{4, 1, 1},
          eval_run_options{2, 1000, 1 << 20}}) {
        recording_report parallel;
        const run_summary got = evaluate_files(files.all(), parallel, options);
        EXPECT_EQ(got.passed, expected.passed);
        EXPECT_EQ(got.failed, expected.failed);
        EXPECT_EQ(got.errors, expected.errors);
        ASSERT_EQ(parallel.events.size(), sequential.events.size()) << options.jobs;
        for (std::size_t k = 0; k < parallel.events.size(); ++k)
            ASSERT_EQ(parallel.events[k], sequential.events[k]) << "event " << k;
    }
}

TEST(EvalRun, JobsOptionWritesTheSameReport) {
    const case_files files;
    const auto run = [&](const char* jobs) {
        std::vector<std::string> args = {"eval", "--format", "json", "--jobs", jobs};
        const std::vector<std::string> all = files.all();
        args.insert(args.end(), all.begin(), all.end());
        return testing::run_xentcheck(args);
    };
    const auto one = run("1");
    EXPECT_EQ(one.exit_code, 2);
    const auto three = run("3");
    EXPECT_EQ(three.exit_code, 2);
    EXPECT_EQ(three.out, one.out);
    EXPECT_EQ(three.err, one.err);
    EXPECT_EQ(run("0").exit_code, 2);  // out of range: a usage error
}

}  // namespace
}  // namespace xentcheck::cli
