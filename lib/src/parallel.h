/// Internal: fork-join over a few std::jthreads (the caller's thread takes part 0).
#pragma once

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

/// [begin, end) of part k when `count` items are split into `parts` nearly equal parts.
struct part_range {
    std::size_t begin;
    std::size_t end;
};
inline part_range split(std::size_t count, std::size_t parts, std::size_t k) {
    return part_range{count * k / parts, count * (k + 1) / parts};
}

}  // namespace xentcheck::detail
