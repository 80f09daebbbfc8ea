/// test_serve_library.cpp: serve-lib: loading, symbol and version checks, crash isolation.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "check_test_support.h"
#include "xentcheck/check/process_client.h"
#include "xentcheck/check/serve_library.h"

namespace {

using namespace std::chrono_literals;
using namespace xentcheck::check;
using xentcheck::reduction;
using namespace xentcheck::check::testing;

/// Runs the serve-lib driver on `library` with an empty stdin; returns its stderr (as the
/// first line of stdout: 2>&1) and exit status.
std::pair<std::string, exit_status> refusal_of(const std::string& library) {
    subprocess p(serve_command(library) + " 2>&1");
    p.start();
    p.close_stdin();
    std::string line;
    p.read_line(line, subprocess::clock::now() + 10s);
    const exit_status st = p.wait_for_exit(10s);
    p.kill();
    return {line, st};
}

TEST(ServeLibrary, ALibraryWithoutTheSymbolsIsAClearError) {
    const auto [message, st] = refusal_of(XENTCHECK_TEST_ABI_NO_SYMBOLS);
    EXPECT_EQ(st.how, exit_status::state::exited);
    EXPECT_EQ(st.code, 2);
    EXPECT_NE(message.find("does not export the xentcheck ABI: missing xentcheck_abi_version, "
                           "xentcheck_cross_entropy_f32, xentcheck_cross_entropy_f64"),
              std::string::npos)
        << message;
}

TEST(ServeLibrary, AnotherAbiVersionIsRefused) {
    const auto [message, st] = refusal_of(XENTCHECK_TEST_ABI_WRONG_VERSION);
    EXPECT_EQ(st.code, 2);
    EXPECT_NE(message.find("ABI version 99; this xentcheck speaks version 1"), std::string::npos)
        << message;
}

TEST(ServeLibrary, AMissingFileIsRefused) {
    const auto [message, st] = refusal_of("/nonexistent/libnothing.so");
    EXPECT_EQ(st.code, 2);
    EXPECT_NE(message.find("cannot load /nonexistent/libnothing.so"), std::string::npos) << message;
}

TEST(ServeLibrary, ThroughTheClientARefusedLibraryIsAStartupFault) {
    process_client client(serve_command(XENTCHECK_TEST_ABI_NO_SYMBOLS));
    const outcome o = client.evaluate(make_request(1, 3));
    EXPECT_EQ(o.fault.kind, fault_kind::exited);
    EXPECT_NE(o.fault.message.find("status 2"), std::string::npos) << o.fault.message;
    EXPECT_TRUE(o.fault.at_startup);
}

TEST(ServeLibrary, LibraryErrorsBecomeErrorResponsesAndItsStdioIsDiverted) {
    // The test library printf()s to stdout and reads stdin before refusing: had the printing
    // reached the protocol stream, the client would see garbage instead of the error response;
    // had the reading reached it, the library would block (a timeout) or return 8.
    client_options options;
    options.request_timeout = 3s;
    options.startup_timeout = 3s;
    process_client client(serve_command(XENTCHECK_TEST_ABI_PRINTS_TO_STDOUT), options);
    for (const dtype t : {dtype::float64, dtype::float32}) {
        const outcome o = client.evaluate(make_request(1, 3, reduction::mean, t));
        EXPECT_EQ(o.fault.kind, fault_kind::error_response) << o.fault.to_string();
        EXPECT_EQ(o.fault.message, "refused by the test library");
    }
    EXPECT_EQ(client.starts(), 1u);
}

TEST(ServeLibrary, InvalidInputGetsTheLibrarysErrorMessage) {
    process_client client(serve_command(XENTCHECK_EXAMPLE_ABI));
    request r = make_request(2, 3);
    r.target_indices[1] = 3;  // out of range
    const outcome o = client.evaluate(r);
    EXPECT_EQ(o.fault.kind, fault_kind::error_response);
    EXPECT_NE(o.fault.message.find("out of range"), std::string::npos) << o.fault.message;
}

TEST(ServeLibrary, ACrashInsideTheLibraryIsReportedAndSurvived) {
    client_options options;
    options.request_timeout = 5s;
    process_client client(serve_command(XENTCHECK_EXAMPLE_ABI_CRASHING), options);
    EXPECT_TRUE(client.evaluate(make_request(2, 7)).ok());
    const outcome crash = client.evaluate(make_request(2, 8));  // C > 7 crashes
    EXPECT_EQ(crash.fault.kind, fault_kind::crashed) << crash.fault.to_string();
    EXPECT_NE(crash.fault.message.find("SIGSEGV"), std::string::npos) << crash.fault.message;
    const outcome after = client.evaluate(make_request(2, 3, reduction::none, dtype::float32));
    EXPECT_TRUE(after.ok()) << after.fault.to_string();
    EXPECT_EQ(client.starts(), 2u);
}

TEST(ServeLibrary, CommandQuotesEveryWord) {
    EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
    EXPECT_EQ(serve_library_command("/opt/x check/xentcheck", "lib.so"),
              "exec '/opt/x check/xentcheck' 'serve-lib' 'lib.so'");
    EXPECT_FALSE(current_executable_path().empty());
}

}  // namespace
