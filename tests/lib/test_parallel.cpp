/// lib/src/parallel.h: guided_chunks' chunks cover every item once, in order, shrink as items are
/// dealt and respect their maximum and minimum; split's parts cover a range; run_parts runs one
/// part on the calling thread, and every part on threads of its own while the team is taken
/// (the worker team's own tests: test_worker_team.cpp).
#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <stdexcept>
#include <thread>
#include <vector>

#include "parallel.h"

namespace xentcheck::detail {
namespace {

TEST(GuidedChunks, CoverEveryItemOnceInOrder) {
    for (std::size_t count : {0, 1, 2, 7, 64, 4096, 40960})
        for (std::size_t threads : {1, 2, 3, 8})
            for (std::size_t least : {0, 1, 5, 100}) {
                const std::vector<std::size_t> b = guided_chunks(count, threads, least);
                ASSERT_FALSE(b.empty());
                EXPECT_EQ(b.front(), 0u);
                EXPECT_EQ(b.back(), count) << count << " " << threads << " " << least;
                for (std::size_t k = 1; k < b.size(); ++k)
                    EXPECT_LT(b[k - 1], b[k]) << "empty chunk " << k;
            }
}

TEST(GuidedChunks, ShrinkToTheMinimumAndNoFurther) {
    // 4096 rows of 1000 classes on two threads, at least 8 rows a chunk: chunks of a
    // sixteenth of the rows (256) while a quarter of what is left is more, then a quarter of
    // what is left, down to 8 rows; only the last may be smaller (what remains).
    const std::vector<std::size_t> b = guided_chunks(4096, 2, 8);
    EXPECT_EQ(b[1], 256u);
    EXPECT_EQ(b[12], 12 * 256u);  // 1024 rows left: a quarter of them is no longer less
    EXPECT_EQ(b[13] - b[12], 256u);
    EXPECT_EQ(b[14] - b[13], 192u);
    for (std::size_t k = 1; k + 1 < b.size(); ++k) {
        const std::size_t size = b[k] - b[k - 1];
        const std::size_t next = b[k + 1] - b[k];
        EXPECT_LE(next, size) << "chunk " << k;
        if (k + 2 < b.size()) {
            EXPECT_GE(next, 8u) << "chunk " << k + 1;
        }
    }
    EXPECT_LE(b.back() - b[b.size() - 2], 8u);
    EXPECT_LT(b.size(), 40u);  // few chunks: one atomic increment each
}

TEST(GuidedChunks, SmallCasesByHand) {
    // 40 items on 2 threads, at least 3: at most 40 / 16 = 2 would be less, so 3 a chunk while
    // a quarter of what is left is less than 3, i.e. throughout; the last chunk is the rest.
    EXPECT_EQ(guided_chunks(40, 2, 3),
              (std::vector<std::size_t>{0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 40}));
    EXPECT_EQ(guided_chunks(10, 4, 100), (std::vector<std::size_t>{0, 10}));
    EXPECT_EQ(guided_chunks(5, 1, 1),
              (std::vector<std::size_t>{0, 1, 2, 3, 4, 5}));  // at most 5 / 8
}

TEST(RunParts, OnePartRunsOnTheCallingThread) {
    const std::thread::id caller = std::this_thread::get_id();
    bool elsewhere = true;
    run_parts(1, [&](std::size_t) { elsewhere = std::this_thread::get_id() != caller; });
    EXPECT_FALSE(elsewhere);
}

TEST(RunParts, WhileTheTeamIsBusyACallRunsOnThreadsOfItsOwn) {
    // Another thread holds the team (its part waits until we are done): our calls take the
    // threads-of-their-own path, which must still run every part once and rethrow.
    std::atomic<bool> holding{false}, release{false};
    std::jthread holder([&] {
        run_parts(2, [&](std::size_t k) {
            if (k != 0) return;
            holding = true;
            while (!release)
                std::this_thread::yield();
        });
    });
    while (!holding)
        std::this_thread::yield();
    EXPECT_FALSE(run_on_team(3, part_work::of([](std::size_t) {})));  // the team is taken
    std::vector<std::atomic<int>> runs(3);
    run_parts(3, [&](std::size_t k) { ++runs[k]; });
    EXPECT_TRUE(runs[0] == 1 && runs[1] == 1 && runs[2] == 1);
    EXPECT_THROW(run_parts(3,
                           [](std::size_t k) {
                               if (k == 2) throw std::runtime_error("part 2 failed");
                           }),
                 std::runtime_error);
    release = true;
}

TEST(Split, PartsAreNearlyEqualAndCoverTheRange) {
    std::size_t end = 0;
    for (std::size_t k = 0; k < 3; ++k) {
        const part_range r = split(10, 3, k);
        EXPECT_EQ(r.begin, end);
        EXPECT_GE(r.end - r.begin, 3u);
        EXPECT_LE(r.end - r.begin, 4u);
        end = r.end;
    }
    EXPECT_EQ(end, 10u);
}

}  // namespace
}  // namespace xentcheck::detail
