/// Internal: the process's team of worker threads that sleep between calls (parallel.h's helpers).
#pragma once

#include <cstddef>

namespace xentcheck::detail {

/// A type-erased reference to work(k) for parts k: the callable must outlive the call it is
/// passed to.
struct part_work {
    const void* callable;
    void (*invoke)(const void* callable, std::size_t part);
    template <class Work>
    static part_work of(const Work& work) {
        return {&work, [](const void* c, std::size_t k) { (*static_cast<const Work*>(c))(k); }};
    }
};

/// Most workers the team keeps (a call with more parts shares them among these and the caller).
inline constexpr std::size_t most_team_workers = 255;

/// Runs work(k) for every k in [0, parts) on the calling thread and on up to parts - 1 workers of
/// the process's team, and returns when every part is done; the first exception a part throws is
/// rethrown here. Returns false at once, having run nothing, when another thread is using the
/// team (the caller then starts threads of its own).
///
/// Why a team: a thread started per call landed on the caller's own CPU in 44% of starts on a
/// 2-vCPU Linux 6.18 guest, while the other CPU sat idle, so nearly half of the two-thread calls
/// ran on one CPU (bench: placement/thread_per_call). A worker woken from its sleep went back
/// to its own CPU: 0 of 300 such calls shared one (placement/worker_team).
///
/// Parts are claimed one at a time, by the workers and by the caller alike, and the caller waits
/// only for parts that a running thread has claimed: a worker that is slow to wake, or that does
/// not exist (a worker that could not be started; the child of a fork, which has the team's
/// state but not its threads), leaves its parts to the caller, and no call waits for it. The
/// team is never destroyed, so workers asleep at exit touch nothing that exit tears down.
bool run_on_team(std::size_t parts, part_work work);

}  // namespace xentcheck::detail
