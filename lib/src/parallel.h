/// Internal: work split into parts run on the calling thread and the worker team, and chunking.
#pragma once

#include <algorithm>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "worker_team.h"

namespace xentcheck::detail {

/// Runs work(k) for k in [0, parts) and returns when all are done: on the calling thread and the
/// process's worker team (worker_team.h), or, while another thread uses the team, parts 1.. on
/// threads started for this call and part 0 on the calling thread. Parts may run in any order,
/// on any of these threads. The first exception thrown by any part is rethrown here.
template <class Work>
void run_parts(std::size_t parts, const Work& work) {
    if (parts <= 1) {
        work(std::size_t{0});
        return;
    }
    if (run_on_team(parts, part_work::of(work))) return;
    std::exception_ptr failure;
    std::mutex failure_mutex;
    const auto guarded = [&](std::size_t k) {
        try {
            work(k);
        } catch (...) {
            const std::lock_guard lock(failure_mutex);
            if (!failure) failure = std::current_exception();
        }
    };
    {
        std::vector<std::jthread> workers;
        workers.reserve(parts - 1);
        for (std::size_t k = 1; k < parts; ++k)
            workers.emplace_back(guarded, k);
        guarded(0);
    }  // joined here
    if (failure) std::rethrow_exception(failure);
}

/// [begin, end) of part k when `count` items are split into `parts` nearly equal parts.
struct part_range {
    std::size_t begin;
    std::size_t end;
};
inline part_range split(std::size_t count, std::size_t parts, std::size_t k) {
    return part_range{count * k / parts, count * (k + 1) / parts};
}

/// Chunk boundaries for `threads` threads that take the next chunk of `count` items whenever
/// they are free: each chunk is 1 / (2 threads) of the items not yet dealt (guided scheduling),
/// but at most 1 / (8 threads) of all items and at least `min_items`. A thread slowed down or
/// descheduled for a while (a virtual machine's) holds up at most one small share of the work
/// and hands the rest to the others, and the last chunks, which decide when the call ends, are
/// small. Returns b[0] = 0 < b[1] < ... < b.back() = count (just {0} for no items); it depends
/// on the arguments alone, so the chunks, and the order their partial results are added in, are
/// the same on every call whichever thread takes which.
inline std::vector<std::size_t> guided_chunks(std::size_t count, std::size_t threads,
                                              std::size_t min_items) {
    const std::size_t divisor = 2 * (threads == 0 ? 1 : threads);
    const std::size_t largest = std::max<std::size_t>(1, count / (4 * divisor));
    const std::size_t least = min_items == 0 ? 1 : min_items;
    std::vector<std::size_t> bounds{0};
    for (std::size_t done = 0; done < count;) {
        const std::size_t left = count - done;
        done += std::min(left, std::max(least, std::min(largest, left / divisor)));
        bounds.push_back(done);
    }
    return bounds;
}

}  // namespace xentcheck::detail
