/// test_check_reports.cpp: the reports of `xentcheck check` (JSON, JUnit XML, text), --save and
/// --cases round trips through `eval` and `check`, `gen`, usage errors and the progress line.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "command_test_support.h"
#include "xentcheck/check/serve_library.h"

namespace {

using namespace xentcheck::check::testing;
using xentcheck::check::shell_quote;

/// The buggy C ABI library (dE/dp returned as the gradient): fast, and it fails several
/// properties with 1 x 1 and 1 x 2 counterexamples.
std::vector<std::string> buggy_run(const std::string& format, int seed = 9) {
    return {"check",
            "--lib",
            XENTCHECK_EXAMPLE_ABI_BUGGY,
            "--seed",
            std::to_string(seed),
            "--max-success",
            "30",
            "--format",
            format};
}

TEST(CheckReport, JsonHasTheDocumentedStructure) {
    const auto r = run_xentcheck(buggy_run("json"));
    ASSERT_EQ(r.exit_code, 1) << r.err;
    const auto report = parse_json(r.out);
    EXPECT_EQ(report.at("passed"), false);
    EXPECT_EQ(report.at("seed"), 9);
    EXPECT_EQ(report.at("dtype"), "float64");
    EXPECT_EQ(report.at("targets"), "index");
    EXPECT_EQ(report.at("reduction"), "mean");
    EXPECT_TRUE(report.at("features").is_array());
    EXPECT_NE(report.at("reproduce").get<std::string>().find("--seed 9"), std::string::npos);
    const auto& props = report.at("properties");
    ASSERT_EQ(props.size(), 17u);
    int passed = 0, failed = 0;
    for (const auto& p : props) {
        SCOPED_TRACE(p.dump().substr(0, 300));
        EXPECT_TRUE(p.at("name").is_string());
        EXPECT_TRUE(p.at("tests").is_number_integer());
        EXPECT_GE(p.at("tests"), 1);
        if (p.at("status") == "passed") {
            ++passed;
            EXPECT_TRUE(p.at("message").is_null());
            EXPECT_TRUE(p.at("counterexample").is_null());
            continue;
        }
        ASSERT_EQ(p.at("status"), "failed");
        ++failed;
        EXPECT_FALSE(p.at("message").get<std::string>().empty());
        const auto& c = p.at("counterexample");
        ASSERT_TRUE(c.is_object());
        // logits always 2-D; the other case fields as the case format has them
        ASSERT_TRUE(c.at("logits").is_array());
        ASSERT_TRUE(c.at("logits").at(0).is_array());
        EXPECT_TRUE(c.contains("target"));
        EXPECT_EQ(c.at("name"), p.at("name"));
        EXPECT_NE(c.at("note").get<std::string>().find("seed 9"), std::string::npos);
        // The implementation's own answer, as `expect`.
        EXPECT_TRUE(c.at("expect").contains("grad"));
    }
    EXPECT_EQ(report.at("summary").at("passed"), passed);
    EXPECT_EQ(report.at("summary").at("failed"), failed);
    EXPECT_GT(failed, 3);
}

TEST(CheckReport, JunitXmlIsWellFormedWithATestcasePerProperty) {
    const std::string dir = fresh_directory("junit");
    const std::string xml_path = dir + "/report.xml";
    const auto r = run_xentcheck(buggy_run("junit"));
    ASSERT_EQ(r.exit_code, 1) << r.err;
    write_text(xml_path, r.out);
    // Parsed by Python's XML parser (it rejects malformed XML), summarised as JSON.
    const std::string script =
        "import json,sys,xml.etree.ElementTree as E\n"
        "root=E.parse(sys.argv[1]).getroot()\n"
        "s=root.find('testsuite')\n"
        "cases=[{'name':c.get('name'),'classname':c.get('classname'),'time':c.get('time'),"
        "'failures':[{'message':f.get('message'),'type':f.get('type'),'text':f.text} "
        "for f in c.findall('failure')]} for c in s.findall('testcase')]\n"
        "print(json.dumps({'root':root.tag,'tests':s.get('tests'),'failures':s.get('failures'),"
        "'errors':s.get('errors'),'props':{p.get('name'):p.get('value') for p in "
        "s.find('properties')},'cases':cases}))\n";
    write_text(dir + "/parse.py", script);
    const std::string command = shell_quote(XENTCHECK_PYTHON) + " " +
                                shell_quote(dir + "/parse.py") + " " + shell_quote(xml_path);
    std::string line;
    if (std::FILE* pipe = ::popen(command.c_str(), "r")) {
        char buf[4096];
        while (std::fgets(buf, sizeof buf, pipe))
            line += buf;
        ASSERT_EQ(::pclose(pipe), 0) << "not well-formed XML: " << r.out.substr(0, 2000);
    }
    const auto summary = parse_json(line);
    EXPECT_EQ(summary.at("root"), "testsuites");
    EXPECT_EQ(summary.at("tests"), "17");
    EXPECT_EQ(summary.at("errors"), "0");
    EXPECT_EQ(summary.at("props").at("seed"), "9");
    const auto& cases = summary.at("cases");
    ASSERT_EQ(cases.size(), 17u);
    int failures = 0;
    for (const auto& c : cases) {
        EXPECT_EQ(c.at("classname"), "xentcheck.check");
        EXPECT_FALSE(c.at("time").is_null());
        for (const auto& f : c.at("failures")) {
            ++failures;
            EXPECT_FALSE(f.at("message").get<std::string>().empty());
            const std::string text = f.at("text");
            // The counterexample case is in the failure text, whole.
            const auto start = text.find("in the case format:\n");
            ASSERT_NE(start, std::string::npos) << text;
            const std::string case_line =
                text.substr(start + 20, text.find('\n', start + 20) - start - 20);
            EXPECT_EQ(parse_json(case_line).at("name"), c.at("name"));
            EXPECT_NE(text.find("Reproduce: xentcheck check"), std::string::npos);
        }
    }
    EXPECT_EQ(std::to_string(failures), summary.at("failures").get<std::string>());
    EXPECT_GT(failures, 0);
}

TEST(CheckReport, TextReportNamesEachPropertyAndTheExitCode) {
    const auto r = run_xentcheck(buggy_run("text"));
    ASSERT_EQ(r.exit_code, 1);
    EXPECT_NE(r.out.find("FAIL  agrees_with_reference"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("pass  probs_sum_to_one"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("counterexample (1 x 1"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Exit code 1."), std::string::npos);
    EXPECT_NE(r.out.find("Reproduce: xentcheck check --lib"), std::string::npos);
    // Not a terminal: no progress line on stderr.
    EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST(CheckReport, SavedCounterexamplesFailEvalAndReplayInCheck) {
    const std::string dir = fresh_directory("saved");
    auto args = buggy_run("json");
    args.insert(args.end(), {"--save", dir});
    const auto r = run_xentcheck(args);
    ASSERT_EQ(r.exit_code, 1) << r.err;
    const auto report = parse_json(r.out);
    const std::vector<std::string> failed = failed_properties(report);
    ASSERT_FALSE(failed.empty());
    for (const std::string& name : failed) {
        SCOPED_TRACE(name);
        const std::string file = dir + "/" + name + ".json";
        ASSERT_TRUE(std::filesystem::exists(file));
        EXPECT_EQ(property_of(report, name).at("saved"), file);
        // eval replays the discrepancy: the saved `expect` holds the buggy answer.
        const auto eval = run_xentcheck({"eval", file});
        EXPECT_EQ(eval.exit_code, 1) << eval.out;
        // check --cases replays it: the buggy library fails again on it (and only the case
        // runs: no generated problems) ...
        const auto again = run_xentcheck({"check", "--lib", XENTCHECK_EXAMPLE_ABI_BUGGY, "--cases",
                                          file, "--max-success", "0", "--format", "json"});
        ASSERT_EQ(again.exit_code, 1) << again.err;
        const auto replay = property_of(parse_json(again.out), name);
        EXPECT_EQ(replay.at("status"), "failed");
        EXPECT_EQ(replay.at("tests"), 1);
        EXPECT_NE(replay.at("origin").get<std::string>().find(file), std::string::npos);
        // ... and the correct library passes it.
        const auto fixed = run_xentcheck(
            {"check", "--lib", XENTCHECK_EXAMPLE_ABI, "--cases", file, "--max-success", "0"});
        EXPECT_EQ(fixed.exit_code, 0) << fixed.out;
    }
}

TEST(CheckReport, DeterminismFailuresReplayInCheckButNotInEval) {
    // Noise of a few ulps is within every tolerance: only asking again shows it, so eval (which
    // compares one answer with the reference) passes the saved case, and check --cases fails it.
    const std::string dir = fresh_directory("witness");
    const auto r =
        run_xentcheck({"check", "--impl", python_impl("buggy/buggy_impl.py", "--bug noisy"),
                       "--seed", "1", "--max-success", "20", "--format", "json", "--save", dir});
    ASSERT_EQ(r.exit_code, 1) << r.err;
    const auto report = parse_json(r.out);
    EXPECT_EQ(property_of(report, "determinism").at("status"), "failed");
    const std::string file = dir + "/determinism.json";
    EXPECT_EQ(run_xentcheck({"eval", file}).exit_code, 0);
    // The saved case shrinks to one class (probability 1, loss and gradient 0), where noise of
    // a few ulps lands on a few representable values near 1, so its answers agree by chance
    // now and then (one CI run's single replay passed; 1 of 53 runs here). Three tries, any of
    // which may find the noise, leave a chance failure near the cube of that.
    int failed_replays = 0;
    for (int attempt = 0; attempt < 3 && failed_replays == 0; ++attempt) {
        const auto replay =
            run_xentcheck({"check", "--impl", python_impl("buggy/buggy_impl.py", "--bug noisy"),
                           "--cases", file, "--max-success", "0", "--format", "json"});
        const auto status = property_of(parse_json(replay.out), "determinism").at("status");
        if (replay.exit_code == 1 && status == "failed") ++failed_replays;
        if (replay.exit_code != 1) {
            EXPECT_EQ(status, "passed") << replay.out;
        }
    }
    EXPECT_EQ(failed_replays, 1);
}

TEST(CheckReport, GeneratedCasesAreReadAndPassedByEval) {
    const std::string dir = fresh_directory("gen");
    struct gen_config {
        std::vector<std::string> args;
    };
    const std::vector<gen_config> configs{
        {{"--count", "60", "--seed", "3"}},
        {{"--count", "40", "--seed", "4", "--dtype", "float32", "--targets", "probs", "--reduction",
          "none", "--features", "weight,label_smoothing"}},
        {{"--count", "40", "--seed", "5", "--reduction", "sum", "--features",
          "weight,ignore_index,label_smoothing"}},
    };
    for (std::size_t k = 0; k < configs.size(); ++k) {
        std::vector<std::string> args{"gen"};
        args.insert(args.end(), configs[k].args.begin(), configs[k].args.end());
        const auto g = run_xentcheck(args);
        ASSERT_EQ(g.exit_code, 0) << g.err;
        const std::string file = dir + "/cases" + std::to_string(k) + ".jsonl";
        write_text(file, g.out);
        const auto e = run_xentcheck({"eval", "--format", "json", file});
        EXPECT_EQ(e.exit_code, 0) << e.out.substr(0, 3000);
        const auto report = parse_json(e.out);
        EXPECT_EQ(report.at("summary").at("passed"), std::stoi(configs[k].args[1]));
        EXPECT_EQ(report.at("summary").at("errors"), 0);
    }
    // The same seed gives the same cases.
    EXPECT_EQ(run_xentcheck({"gen", "--count", "5", "--seed", "8"}).out,
              run_xentcheck({"gen", "--count", "5", "--seed", "8"}).out);
}

TEST(CheckReport, UsageErrorsExitTwo) {
    const std::vector<std::vector<std::string>> bad{
        {"check"},
        {"check", "--impl", "x", "--lib", "y"},
        {"check", "--lib", XENTCHECK_EXAMPLE_ABI, "--features", "weight,colour"},
        {"check", "--lib", XENTCHECK_EXAMPLE_ABI, "--dtype", "float16"},
        {"check", "--lib", XENTCHECK_EXAMPLE_ABI, "--targets", "onehot"},
        {"check", "--lib", XENTCHECK_EXAMPLE_ABI, "--reduction", "avg"},
        {"check", "--lib", XENTCHECK_EXAMPLE_ABI, "--format", "xml"},
        {"check", "--lib", XENTCHECK_EXAMPLE_ABI, "--timeout", "0"},
        {"check", "--lib", XENTCHECK_EXAMPLE_ABI, "--cases", "/nonexistent.json"},
        {"gen", "--features", "nothing"},
    };
    for (const auto& args : bad) {
        const auto r = run_xentcheck(args, 30);
        EXPECT_EQ(r.exit_code, 2) << args.back() << ": " << r.out;
    }
}

TEST(CheckReport, BadCasesAreNamedByFileCaseAndField) {
    const std::string dir = fresh_directory("badcases");
    const std::string file = dir + "/bad.jsonl";
    write_text(file,
               "{\"logits\": [[0, 1]], \"target\": [0]}\n"
               "{\"name\": \"not float32\", \"logits\": [[0.1, 1]], \"target\": [0], \"dtype\": "
               "\"float32\"}\n"
               "{\"logits\": [[0, 1]], \"target\": [5]}\n");
    const auto r = run_xentcheck({"check", "--lib", XENTCHECK_EXAMPLE_ABI, "--cases", file});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("bad.jsonl: line 2: case 1 (\"not float32\"): logits:"), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("case 2: target"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty());
}

TEST(CheckReport, ATerminalShowsProgressOnStderr) {
    const auto r = run_xentcheck({"check", "--impl", python_impl("python/numpy_impl.py"), "--seed",
                                  "1", "--max-success", "40"},
                                 120, true);
    ASSERT_EQ(r.exit_code, 0) << r.out;
    EXPECT_NE(r.out.find("xentcheck check: ["), std::string::npos) << r.out.substr(0, 2000);
    EXPECT_NE(r.out.find("17 of 17 properties passed"), std::string::npos);
}

}  // namespace
