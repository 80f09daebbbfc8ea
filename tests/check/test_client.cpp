/// test_client.cpp: the process client against the fault implementations of examples/buggy.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "check_test_support.h"
#include "xentcheck/check/process_client.h"
#include "xentcheck/check/serve_library.h"

namespace {

using namespace std::chrono_literals;
using namespace xentcheck::check;
using xentcheck::reduction;
using xentcheck::check::testing::example_path;
using xentcheck::check::testing::make_request;
using xentcheck::check::testing::no_child_processes;
using xentcheck::check::testing::python_command;

/// Short limits: every test here must finish in about a second.
client_options quick() {
    client_options o;
    o.request_timeout = 500ms;
    o.startup_timeout = 5s;
    o.exit_grace = 300ms;
    return o;
}

std::string fault_command(const std::string& fault) {
    return python_command("buggy/faults.py", "--fault " + fault);
}

class Client : public ::testing::Test {
  protected:
    void SetUp() override { ASSERT_TRUE(no_child_processes()); }
    void TearDown() override { EXPECT_TRUE(no_child_processes()); }
};

struct fault_case {
    const char* fault;    // faults.py --fault
    fault_kind expected;  // what the 8-class request must give
    const char* message_part;
    bool exec = false;  // run as `exec python3 ...`, so no shell stays between
};

class ClientFault : public ::testing::TestWithParam<fault_case> {
  protected:
    void TearDown() override { EXPECT_TRUE(no_child_processes()); }
};

/// A good request, the trigger (8 classes), then a good one again: the fault is classified and
/// charged to the trigger, and the client recovers (restarting when the fault requires it).
TEST_P(ClientFault, IsClassifiedAndRecoveredFrom) {
    const fault_case& c = GetParam();
    process_client client((c.exec ? "exec " : "") + fault_command(c.fault), quick());
    const outcome before = client.evaluate(make_request(2, 3));
    ASSERT_TRUE(before.ok()) << before.fault.to_string();
    const auto t0 = std::chrono::steady_clock::now();
    const outcome bad = client.evaluate(make_request(2, 8));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
    EXPECT_EQ(to_string(bad.fault.kind), to_string(c.expected)) << bad.fault.to_string();
    EXPECT_NE(bad.fault.message.find(c.message_part), std::string::npos) << bad.fault.message;
    EXPECT_FALSE(bad.fault.at_startup);
    const outcome after = client.evaluate(make_request(1, 4, reduction::none));
    EXPECT_TRUE(after.ok()) << after.fault.to_string();
    EXPECT_EQ(client.starts(), requires_restart(c.expected) ? 2u : 1u);
}

INSTANTIATE_TEST_SUITE_P(
    Faults, ClientFault,
    ::testing::Values(
        fault_case{"hang", fault_kind::timed_out, "no response within 500 ms"},
        fault_case{"garbage", fault_kind::garbage, "not JSON"},
        fault_case{"partial", fault_kind::partial_line, "no '\\n'"},
        fault_case{"wrong_id", fault_kind::wrong_id, "found 1002"},
        fault_case{"missing", fault_kind::missing_field, "grad"},
        fault_case{"wrong_shape", fault_kind::wrong_shape, "single number"},
        fault_case{"ragged", fault_kind::wrong_shape, "ragged"},
        fault_case{"bad_string", fault_kind::bad_value, "oops"},
        fault_case{"error", fault_kind::error_response, "refusing on purpose"},
        fault_case{"exit", fault_kind::exited, "status 4"},
        fault_case{"extra_line", fault_kind::garbage, "not JSON"},
        fault_case{"crash", fault_kind::crashed, "reported by the shell as status 139"},
        fault_case{"crash", fault_kind::crashed, "killed by signal 11 (SIGSEGV)", true},
        // Only detectable when the implementation is the shell's last word (exec): otherwise
        // the waiting shell still holds the pipe, and it is a timeout.
        fault_case{"close_stdout", fault_kind::output_closed, "kept running", true},
        fault_case{"close_stdout", fault_kind::timed_out, "no response", false}),
    [](const auto& info) {
        return std::string(info.param.fault) + (info.param.exec ? "_exec" : "") + "_" +
               std::to_string(info.index);
    });

TEST_F(Client, NanWhereAFiniteValueIsDueIsAValueNotAFault) {
    process_client client(fault_command("nan"), quick());
    const outcome o = client.evaluate(make_request(1, 8));
    ASSERT_TRUE(o.ok()) << o.fault.to_string();
    EXPECT_TRUE(std::isnan(o.values.probs[0]));
    EXPECT_TRUE(std::isfinite(o.values.probs[1]));
}

TEST_F(Client, BareNonFiniteTokensAreAccepted) {
    process_client client(fault_command("bare_tokens"), quick());
    request r = make_request(1, 3);
    r.logits[1] = std::nan("");
    const outcome o = client.evaluate(r);
    ASSERT_TRUE(o.ok()) << o.fault.to_string();
    EXPECT_TRUE(std::isnan(o.values.probs[0]));
    EXPECT_TRUE(std::isnan(o.values.loss[0]));
}

TEST_F(Client, ExitAtStartIsAStartupFault) {
    for (const std::string& cmd :
         {fault_command("exit_at_start"), shell_quote(example_path("buggy/exit_at_start.sh"))}) {
        process_client client(cmd, quick());
        const outcome o = client.evaluate(make_request(1, 3));
        EXPECT_EQ(o.fault.kind, fault_kind::exited) << cmd << ": " << o.fault.to_string();
        EXPECT_NE(o.fault.message.find("status 3 before answering any request"), std::string::npos)
            << o.fault.message;
        EXPECT_TRUE(o.fault.at_startup);
    }
}

TEST_F(Client, AMissingCommandCannotBeStarted) {
    process_client client("/nonexistent/xentcheck-implementation --serve", quick());
    const outcome o = client.evaluate(make_request(1, 3));
    EXPECT_EQ(o.fault.kind, fault_kind::start_failed) << o.fault.to_string();
    EXPECT_NE(o.fault.message.find("127 (command not found)"), std::string::npos);
    EXPECT_TRUE(o.fault.at_startup);
}

TEST_F(Client, ShellGarbageIsGarbage) {
    process_client client(shell_quote(example_path("buggy/garbage.sh")), quick());
    const outcome o = client.evaluate(make_request(1, 3));
    EXPECT_EQ(o.fault.kind, fault_kind::garbage);
    EXPECT_EQ(o.fault.raw, "hello, this is not JSON");
}

TEST_F(Client, AChildThatDoesNotReadCannotBlockTheWriter) {
    process_client client(fault_command("no_read"), [] {
        client_options o = quick();
        o.startup_timeout = 300ms;
        return o;
    }());
    const auto t0 = std::chrono::steady_clock::now();
    const outcome o = client.evaluate(make_request(400, 64));  // ~600 kB, > a pipe's capacity
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
    EXPECT_EQ(o.fault.kind, fault_kind::timed_out) << o.fault.to_string();
    EXPECT_TRUE(o.fault.at_startup);
}

TEST_F(Client, SlowAnswersWithinTheTimeoutAreFine) {
    process_client client(python_command("buggy/faults.py", "--fault slow --delay 0.2"), quick());
    const outcome o = client.evaluate(make_request(1, 3));
    EXPECT_TRUE(o.ok()) << o.fault.to_string();
}

std::vector<request> batch_with_trigger_at(std::size_t size, std::size_t trigger) {
    std::vector<request> batch;
    for (std::size_t k = 0; k < size; ++k)
        batch.push_back(make_request(1 + k % 3, k == trigger ? 8 : 3));
    return batch;
}

TEST_F(Client, PipelinedBatchContinuesAfterACrash) {
    process_client client(fault_command("crash"), quick());
    const auto results = client.evaluate_batch(batch_with_trigger_at(50, 20));
    ASSERT_EQ(results.size(), 50u);
    for (std::size_t k = 0; k < 50; ++k) {
        if (k == 20) {
            EXPECT_EQ(results[k].fault.kind, fault_kind::crashed);
        } else {
            EXPECT_TRUE(results[k].ok()) << k << ": " << results[k].fault.to_string();
        }
    }
    EXPECT_EQ(client.starts(), 2u);
}

TEST_F(Client, PipelinedBatchCanStopAtTheFirstFault) {
    process_client client(fault_command("garbage"), quick());
    const auto results =
        client.evaluate_batch(batch_with_trigger_at(10, 4), batch_policy::stop_at_first_fault);
    for (std::size_t k = 0; k < 4; ++k)
        EXPECT_TRUE(results[k].ok()) << k;
    EXPECT_EQ(results[4].fault.kind, fault_kind::garbage);
    for (std::size_t k = 5; k < 10; ++k)
        EXPECT_EQ(results[k].fault.kind, fault_kind::skipped) << k;
    // The next call starts a fresh process.
    EXPECT_TRUE(client.evaluate(make_request(1, 3)).ok());
    EXPECT_EQ(client.starts(), 2u);
}

TEST_F(Client, LargePipelinedBatchesDoNotDeadlock) {
    // ~1.4 MB of requests and as much in answers: both pipes fill up many times over.
    std::vector<request> batch;
    for (int k = 0; k < 200; ++k)
        batch.push_back(make_request(4, 64));
    process_client client(fault_command("slow") + " --delay 0", quick());
    const auto results = client.evaluate_batch(batch);
    for (std::size_t k = 0; k < results.size(); ++k)
        ASSERT_TRUE(results[k].ok()) << k << ": " << results[k].fault.to_string();
    EXPECT_EQ(client.starts(), 1u);
}

TEST_F(Client, ShutdownClosesStdinAndTheProcessExits) {
    process_client client(fault_command("slow") + " --delay 0", quick());
    ASSERT_TRUE(client.evaluate(make_request(1, 3)).ok());
    const exit_status st = client.shutdown();
    EXPECT_EQ(st.how, exit_status::state::exited);
    EXPECT_EQ(st.code, 0);
}

}  // namespace
