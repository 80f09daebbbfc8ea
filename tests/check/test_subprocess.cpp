/// test_subprocess.cpp: the subprocess driver: lines, deadlines, EOF, pipes, kills, no zombies.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>

#include "check_test_support.h"
#include "xentcheck/check/subprocess.h"

namespace {

using namespace std::chrono_literals;
using xentcheck::check::exit_status;
using xentcheck::check::io_result;
using xentcheck::check::subprocess;
using xentcheck::check::testing::no_child_processes;

/// SIGPIPE ignored, as `xentcheck check` has it, until the end of the scope (the fixture needs
/// the default back for the next test, whatever this one's assertions did).
class sigpipe_ignored {
  public:
    sigpipe_ignored() {
        struct sigaction ignore {};
        ignore.sa_handler = SIG_IGN;
        sigaction(SIGPIPE, &ignore, &old_);
    }
    ~sigpipe_ignored() { sigaction(SIGPIPE, &old_, nullptr); }
    sigpipe_ignored(const sigpipe_ignored&) = delete;
    sigpipe_ignored& operator=(const sigpipe_ignored&) = delete;

  private:
    struct sigaction old_ {};
};

/// Every test must leave no child behind, running or zombie.
class Subprocess : public ::testing::Test {
  protected:
    void SetUp() override {
        // The driver's SIGPIPE handling only means something if SIGPIPE would kill us.
        struct sigaction sa {};
        sigaction(SIGPIPE, nullptr, &sa);
        ASSERT_EQ(sa.sa_handler, SIG_DFL);
        ASSERT_TRUE(no_child_processes());
    }
    void TearDown() override { EXPECT_TRUE(no_child_processes()); }
    static auto elapsed_since(std::chrono::steady_clock::time_point t0) {
        return std::chrono::steady_clock::now() - t0;
    }
};

TEST_F(Subprocess, EchoesLinesInOrder) {
    subprocess p("cat");
    p.start();
    ASSERT_EQ(p.write_all("one\ntwo\n", 2s), io_result::ok);
    std::string line;
    ASSERT_EQ(p.read_line(line, subprocess::clock::now() + 5s), io_result::ok);
    EXPECT_EQ(line, "one");
    ASSERT_EQ(p.read_line(line, subprocess::clock::now() + 5s), io_result::ok);
    EXPECT_EQ(line, "two");
    const exit_status st = p.stop(2s);
    EXPECT_EQ(st.how, exit_status::state::exited);  // cat ends at the end of its input
    EXPECT_EQ(st.code, 0);
}

TEST_F(Subprocess, LargeWritesDoNotDeadlockWithAnEchoingChild) {
    // 4 MB through cat: its stdout pipe fills long before we finish writing, so this only
    // completes because write_all drains the answers while it waits.
    std::string data;
    for (int k = 0; k < 40000; ++k)
        data += std::string(99, 'a' + static_cast<char>(k % 26)) + "\n";
    subprocess p("cat");
    p.start();
    ASSERT_EQ(p.write_all(data, 5s), io_result::ok);
    p.close_stdin();
    std::string line;
    for (int k = 0; k < 40000; ++k) {
        ASSERT_EQ(p.read_line(line, subprocess::clock::now() + 5s), io_result::ok) << k;
        ASSERT_EQ(line.size(), 99u);
        ASSERT_EQ(line[0], 'a' + static_cast<char>(k % 26));
    }
    EXPECT_EQ(p.read_line(line, subprocess::clock::now() + 5s), io_result::eof);
}

TEST_F(Subprocess, ReadTimesOutOnASilentChild) {
    subprocess p("sleep 30");
    p.start();
    std::string line;
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(p.read_line(line, subprocess::clock::now() + 200ms), io_result::timed_out);
    EXPECT_GE(elapsed_since(t0), 200ms);
    EXPECT_LT(elapsed_since(t0), 2s);
    const exit_status st = p.kill();
    EXPECT_EQ(st.how, exit_status::state::signaled);
    EXPECT_EQ(st.code, SIGKILL);
}

TEST_F(Subprocess, WriteTimesOutOnAChildThatDoesNotRead) {
    subprocess p("sleep 30");
    p.start();
    const std::string big(1 << 20, 'x');  // far more than a pipe holds
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(p.write_all(big, 200ms), io_result::timed_out);
    EXPECT_LT(elapsed_since(t0), 2s);
    p.kill();
}

TEST_F(Subprocess, WritingToAnExitedChildIsABrokenPipeNotADeadParent) {
    subprocess p("exit 0");
    p.start();
    EXPECT_EQ(p.wait_for_exit(5s).how, exit_status::state::exited);
    EXPECT_EQ(p.write_all("{\"id\":1}\n", 1s), io_result::broken_pipe);
    // Still alive to check: SIGPIPE was not delivered to us.
    sigset_t pending;
    sigpending(&pending);
    EXPECT_FALSE(sigismember(&pending, SIGPIPE));
    p.kill();
}

TEST_F(Subprocess, WritingToAnExitedChildWhileSigpipeIsIgnoredIsABrokenPipe) {
    // The plain-write path (`xentcheck check` ignores SIGPIPE): EPIPE, reported as such.
    const sigpipe_ignored ignored;
    subprocess p("exit 0");
    p.start();
    EXPECT_EQ(p.wait_for_exit(5s).how, exit_status::state::exited);
    EXPECT_EQ(p.write_all("{\"id\":1}\n", 1s), io_result::broken_pipe);
    p.kill();
}

TEST_F(Subprocess, EndOfOutputIsReportedWithOrWithoutAPartialLine) {
    subprocess partial("printf 'abc'");
    partial.start();
    std::string line;
    EXPECT_EQ(partial.read_line(line, subprocess::clock::now() + 5s), io_result::partial_line);
    EXPECT_EQ(line, "abc");
    partial.kill();
    subprocess empty("exit 5");
    empty.start();
    EXPECT_EQ(empty.read_line(line, subprocess::clock::now() + 5s), io_result::eof);
    const exit_status st = empty.wait_for_exit(5s);
    EXPECT_EQ(st.how, exit_status::state::exited);
    EXPECT_EQ(st.code, 5);
    EXPECT_EQ(st.to_string(), "exited with status 5");
}

TEST_F(Subprocess, OverlongLinesAreCut) {
    subprocess p("head -c 100000 /dev/zero | tr '\\0' x; sleep 30", 1000);
    p.start();
    std::string line;
    EXPECT_EQ(p.read_line(line, subprocess::clock::now() + 5s), io_result::too_long);
    EXPECT_GT(line.size(), 1000u);
    p.kill();
}

/// Whether `pid` is gone (or a zombie waiting for its new parent, which is dead too).
bool process_is_dead(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    if (!stat) return true;
    std::string text;
    std::getline(stat, text);
    const auto close_paren = text.rfind(')');
    return close_paren != std::string::npos && close_paren + 2 < text.size() &&
           text[close_paren + 2] == 'Z';
}

TEST_F(Subprocess, KillTakesTheWholeProcessGroup) {
    // A background grandchild holding our pipe open, as a careless wrapper script might leave.
    subprocess p("sleep 30 & echo $!; exec sleep 30");
    p.start();
    std::string line;
    ASSERT_EQ(p.read_line(line, subprocess::clock::now() + 5s), io_result::ok);
    const pid_t grandchild = static_cast<pid_t>(std::stol(line));
    EXPECT_EQ(getpgid(grandchild), p.pid());
    p.kill();
    const auto t0 = std::chrono::steady_clock::now();
    while (!process_is_dead(grandchild) && elapsed_since(t0) < 5s)
        usleep(10000);
    EXPECT_TRUE(process_is_dead(grandchild));
}

TEST_F(Subprocess, StopGivesAGracePeriodThenKills) {
    subprocess p("trap '' TERM; sleep 30");
    p.start();
    const auto t0 = std::chrono::steady_clock::now();
    const exit_status st = p.stop(100ms);
    EXPECT_LT(elapsed_since(t0), 2s);
    EXPECT_EQ(st.how, exit_status::state::signaled);
}

TEST_F(Subprocess, RestartingRunsAFreshProcess) {
    subprocess p("echo $$; cat");
    p.start();
    std::string first, second;
    ASSERT_EQ(p.read_line(first, subprocess::clock::now() + 5s), io_result::ok);
    p.start();  // kills and reaps the first
    ASSERT_EQ(p.read_line(second, subprocess::clock::now() + 5s), io_result::ok);
    EXPECT_NE(first, second);
    EXPECT_TRUE(process_is_dead(static_cast<pid_t>(std::stol(first))));
}

TEST_F(Subprocess, DestructorReapsARunningChild) {
    { subprocess("sleep 30").start(); }
    EXPECT_TRUE(no_child_processes());
}

TEST_F(Subprocess, TheChildDoesNotInheritIgnoredSigpipe) {
    // If we ignored SIGPIPE, a child writing to a closed pipe would live on; it must not.
    subprocess p("exec grep SigIgn /proc/self/status");
    {
        const sigpipe_ignored ignored;
        p.start();
    }
    std::string line;
    ASSERT_EQ(p.read_line(line, subprocess::clock::now() + 5s), io_result::ok);
    ASSERT_EQ(line.rfind("SigIgn:", 0), 0u) << line;
    const unsigned long long ignored = std::stoull(line.substr(7), nullptr, 16);
    EXPECT_EQ(ignored & (1ull << (SIGPIPE - 1)), 0u) << line;
    p.kill();
}

}  // namespace
