/// Internal: fork-join over a few std::jthreads (the caller's thread takes part 0).
#pragma once

#include <algorithm>
#include <barrier>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace xentcheck::detail {

/// Runs work(k) for k in [0, parts): parts 1.. on new threads, part 0 on the calling thread,
/// and returns when all are done. The first exception thrown by any part is rethrown here.
template <class Work>
void run_parts(std::size_t parts, const Work& work) {
    if (parts <= 1) {
        work(std::size_t{0});
        return;
    }
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

/// Starts a std::jthread running work(k): run_parts_in_steps' default way of starting a part
/// (tests pass one that fails, as the system can when it is out of threads).
struct start_jthread {
    template <class Work>
    std::jthread operator()(const Work& work, std::size_t k) const {
        return std::jthread(work, k);
    }
};

/// Runs work(k, step) for k in [0, parts), step by step for step in [0, steps), over one set of
/// threads (parts 1.. on new threads, part 0 on the calling thread) instead of a fork-join per
/// step: a thread start costs tens of microseconds on a virtual machine, more than a step of a
/// short call. After every part has done a step, between(step) runs once, on one thread, while
/// the others wait; it sees every part's results of that step, and returning false ends the run
/// after that step. A part whose thread cannot be started is done by the calling thread, in
/// every step (the barrier is told it will not come, so no thread waits for it forever). The
/// first exception thrown by a part or by `between` ends the run after that step and is rethrown
/// here.
template <class Work, class Between, class Start = start_jthread>
void run_parts_in_steps(std::size_t parts, std::size_t steps, const Work& work,
                        const Between& between, const Start& start = {}) {
    parts = std::max<std::size_t>(parts, 1);
    std::exception_ptr failure;
    std::mutex failure_mutex;
    const auto record_failure = [&] {
        const std::lock_guard lock(failure_mutex);
        if (!failure) failure = std::current_exception();
    };
    std::size_t step = 0;
    bool stop = false;
    const auto after_step = [&]() noexcept {
        if (!failure) {
            try {
                stop = !between(step);
            } catch (...) {
                record_failure();
            }
        }
        stop = stop || failure != nullptr;
        ++step;
    };
    std::barrier sync(static_cast<std::ptrdiff_t>(parts), after_step);
    // Parts [first, last): a thread's share (one part; the calling thread's part 0 and any part
    // whose thread did not start). The barrier's completion orders every write of a step, and
    // `stop`, before every thread's next step.
    const auto run = [&](std::size_t first, std::size_t last, bool with_part_0) {
        for (std::size_t s = 0; s < steps; ++s) {
            for (std::size_t k = with_part_0 ? 0 : first; k < last; k = k == 0 ? first : k + 1) {
                try {
                    work(k, s);
                } catch (...) {
                    record_failure();
                }
            }
            sync.arrive_and_wait();
            if (stop) return;
        }
    };
    std::vector<std::jthread> workers;
    std::size_t started = 1;
    try {
        workers.reserve(parts - 1);
        for (; started < parts; ++started)
            workers.push_back(start([&run](std::size_t k) { run(k, k + 1, false); }, started));
    } catch (...) {
        // Parts [started, parts) have no thread: the caller takes them, and nobody waits for them.
        for (std::size_t k = started; k < parts; ++k)
            sync.arrive_and_drop();
    }
    run(started, parts, true);
    workers.clear();  // joined here
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
