/// detail::run_on_team (lib/src/worker_team.h): every part runs exactly once, workers do take
/// parts, exceptions come back to the caller, concurrent callers and a forked child (which has
/// the team's state but none of its threads) still finish.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "parallel.h"
#include "worker_team.h"

namespace xentcheck::detail {
namespace {

/// How many times each of `parts` parts ran in one run_parts call.
std::vector<int> runs_per_part(std::size_t parts) {
    std::vector<std::atomic<int>> runs(parts);
    run_parts(parts, [&](std::size_t k) { ++runs[k]; });
    std::vector<int> out;
    for (const auto& r : runs)
        out.push_back(r.load());
    return out;
}

TEST(WorkerTeam, EveryPartRunsExactlyOnce) {
    for (int call = 0; call < 200; ++call)
        for (std::size_t parts : {2, 3, 5, 8}) {
            const std::vector<int> runs = runs_per_part(parts);
            ASSERT_EQ(runs, std::vector<int>(parts, 1)) << parts << " parts, call " << call;
        }
}

TEST(WorkerTeam, WorkersTakeParts) {
    // Two parts of 5 ms each: part 1 is claimed by a worker (awake within 5 ms), not by the
    // caller after part 0, in at least some of 20 calls.
    const std::thread::id caller = std::this_thread::get_id();
    int helped = 0;
    for (int call = 0; call < 20; ++call) {
        std::vector<std::thread::id> ran_on(2);
        ASSERT_TRUE(run_on_team(2, part_work::of([&](std::size_t k) {
                                    ran_on[k] = std::this_thread::get_id();
                                    std::this_thread::sleep_for(std::chrono::milliseconds(5));
                                })));
        helped += ran_on[0] != caller || ran_on[1] != caller;
    }
    EXPECT_GT(helped, 0);
}

TEST(WorkerTeam, AnExceptionInAnyPartReachesTheCaller) {
    for (std::size_t thrower = 0; thrower < 4; ++thrower) {
        EXPECT_THROW(run_parts(4,
                               [&](std::size_t k) {
                                   std::this_thread::sleep_for(std::chrono::milliseconds(1));
                                   if (k == thrower) throw std::runtime_error("part failed");
                               }),
                     std::runtime_error);
        // The team is free again afterwards, and clean.
        EXPECT_EQ(runs_per_part(4), std::vector<int>(4, 1));
    }
}

TEST(WorkerTeam, ConcurrentCallersEachRunEveryPart) {
    // One caller gets the team at a time; the other starts threads of its own.
    std::atomic<int> wrong{0};
    const auto caller = [&] {
        for (int call = 0; call < 300; ++call)
            if (runs_per_part(3) != std::vector<int>(3, 1)) ++wrong;
    };
    { std::jthread a(caller), b(caller); }
    EXPECT_EQ(wrong.load(), 0);
}

TEST(WorkerTeam, AForkedChildFinishesWithoutTheWorkers) {
    EXPECT_EQ(runs_per_part(4), std::vector<int>(4, 1));  // the parent's team has workers
    const pid_t child = fork();
    ASSERT_NE(child, -1);
    if (child == 0) {
        alarm(20);  // a child waiting for workers it does not have is killed, and fails
        const bool ok = runs_per_part(4) == std::vector<int>(4, 1) &&
                        runs_per_part(2) == std::vector<int>(2, 1);
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status)) << "the child was killed (signal " << WTERMSIG(status) << ")";
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace xentcheck::detail
