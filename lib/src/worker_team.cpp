/// The process's worker team: parts claimed through one atomic word, sleep and wake on atomics.
#include "worker_team.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <thread>

namespace xentcheck::detail {
namespace {

/// The claim word: the job's number (high 32 bits), its part count (16 bits) and its next
/// unclaimed part (low 16 bits). One word, so a claim is one compare-and-swap that fails if the
/// job changed since it was read.
constexpr std::uint64_t make_claim(std::uint32_t job, std::uint64_t parts) {
    return std::uint64_t{job} << 32 | parts << 16;
}
constexpr std::size_t claim_parts(std::uint64_t claim) {
    return static_cast<std::size_t>(claim >> 16 & 0xffff);
}
constexpr std::size_t claim_next(std::uint64_t claim) {
    return static_cast<std::size_t>(claim & 0xffff);
}
constexpr std::size_t most_parts = 0xffff;

/// Checks for a new job a worker makes before it sleeps: 2000 x86 `pause`s, tens to about a
/// hundred microseconds by the CPU's pause latency (estimated from it, not measured). A
/// caller that calls again at once (a loop over batches; a split row's next step) finds the
/// workers awake, without the few microseconds of a wake-up.
constexpr int spin_checks = 2000;

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

class team {
  public:
    bool run(std::size_t parts, part_work work) {
        if (parts < 2 || parts > most_parts || busy_.exchange(true, std::memory_order_acquire))
            return false;
        start_workers(std::min(parts - 1, most_team_workers));
        work_ = work;
        failure_ = nullptr;
        failed_.store(false, std::memory_order_relaxed);
        done_.store(0, std::memory_order_relaxed);
        ++job_;
        claim_.store(make_claim(job_, parts), std::memory_order_release);
        signal_.fetch_add(1, std::memory_order_release);
        signal_.notify_all();
        help();
        // Every part is claimed now; wait for those that workers are still running.
        for (std::uint32_t done = done_.load(std::memory_order_acquire); done != parts;
             done = done_.load(std::memory_order_acquire))
            done_.wait(done, std::memory_order_acquire);
        const std::exception_ptr failure = failure_;
        busy_.store(false, std::memory_order_release);
        if (failure) std::rethrow_exception(failure);
        return true;
    }

  private:
    /// Starts workers up to `wanted`; a thread that cannot be started is left out (its parts are
    /// claimed by the others and the caller).
    void start_workers(std::size_t wanted) {
        while (workers_ < wanted) {
            try {
                std::thread([this] { work_loop(); }).detach();
            } catch (...) {
                return;
            }
            ++workers_;
        }
    }

    [[noreturn]] void work_loop() {
        for (;;) {
            const std::uint32_t seen = signal_.load(std::memory_order_acquire);
            help();
            for (int i = 0; i < spin_checks && signal_.load(std::memory_order_relaxed) == seen; ++i)
                cpu_relax();
            signal_.wait(seen, std::memory_order_acquire);
        }
    }

    /// Claims and runs parts of the current job until none is left unclaimed.
    void help() {
        for (;;) {
            std::uint64_t claim = claim_.load(std::memory_order_acquire);
            do {
                if (claim_next(claim) >= claim_parts(claim)) return;
            } while (!claim_.compare_exchange_weak(claim, claim + 1, std::memory_order_acq_rel,
                                                   std::memory_order_acquire));
            // The claim holds the job open until this part is done, so work_ is still its work.
            const part_work work = work_;
            try {
                work.invoke(work.callable, claim_next(claim));
            } catch (...) {
                if (!failed_.exchange(true, std::memory_order_relaxed))
                    failure_ = std::current_exception();
            }
            if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == claim_parts(claim))
                done_.notify_all();
        }
    }

    std::atomic<bool> busy_{false};         // a caller is using the team
    std::atomic<std::uint64_t> claim_{0};   // the current job's claim word
    std::atomic<std::uint32_t> signal_{0};  // bumped for each job; sleeping workers wait on it
    std::atomic<std::uint32_t> done_{0};    // parts of the current job finished
    std::atomic<bool> failed_{false};       // a part of the current job threw (failure_ set)
    std::exception_ptr failure_;
    part_work work_{};
    std::uint32_t job_ = 0;
    std::size_t workers_ = 0;
};

}  // namespace

bool run_on_team(std::size_t parts, part_work work) {
    static team& the_team = *new team;  // never destroyed: see worker_team.h
    return the_team.run(parts, work);
}

}  // namespace xentcheck::detail
