/// xentcheck/check/process_client.h: an external implementation behind a long-lived process.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "xentcheck/check/protocol.h"
#include "xentcheck/check/shared_region.h"
#include "xentcheck/check/subprocess.h"

namespace xentcheck::check {

/// Limits of a process_client.
struct client_options {
    /// Longest wait for one response (and for write progress) once the process has answered.
    std::chrono::milliseconds request_timeout{10000};
    /// Longest wait for the first response after a (re)start: interpreter start-up and imports
    /// (PyTorch takes seconds) count against it.
    std::chrono::milliseconds startup_timeout{60000};
    /// How long a process that closed its stdout may take to exit before it is killed, and the
    /// grace period of shutdown().
    std::chrono::milliseconds exit_grace{1000};
    /// Longest accepted response line, in bytes.
    std::size_t max_line_bytes = std::size_t(1) << 28;
    /// Speak the packed form (packed_protocol.h): only xentcheck's own serve-lib child
    /// understands it.
    bool packed = false;
    /// With `packed`: put the arrays in a region of shared memory given to the child as its
    /// descriptor 3 (serve-lib --region-fd 3) instead of the pipe. Falls back to the pipe when
    /// the system has no memfd.
    bool shared_region = false;
};

/// What evaluate_batch does with the rest of a batch after a fault that needed a restart.
enum class batch_policy {
    continue_after_fault,  ///< restart and send the remaining requests again
    stop_at_first_fault,   ///< mark the remaining requests `skipped`
};

/// Runs `command` through /bin/sh -c (started on the first request) and evaluates requests
/// with the JSON-lines protocol. Every failure becomes a fault in the outcome, never an
/// exception or a hang: after a fault that leaves the stream untrusted (requires_restart) the
/// process group is killed, and the next request starts a fresh process. Ids are assigned by
/// the client (1, 2, ... over its lifetime). Not thread-safe.
class process_client {
  public:
    /// A client for `command`; nothing is started yet.
    explicit process_client(std::string command, client_options options = {});
    /// Shuts the process down (shutdown()).
    ~process_client();
    process_client(const process_client&) = delete;
    process_client& operator=(const process_client&) = delete;

    /// Sends one request and reads its response. Throws std::invalid_argument (from
    /// encode_request) for a request that is not sendable; every other failure is a fault.
    outcome evaluate(const request_ref& r);
    /// Pipelines `requests`: writes them all (while draining answers, so a large batch cannot
    /// deadlock on full pipes), then reads one response per request in order. A fault that
    /// requires a restart is charged to the request whose response was due; the process is
    /// restarted and, under continue_after_fault, the later requests are sent again.
    std::vector<outcome> evaluate_batch(std::span<const request> requests,
                                        batch_policy policy = batch_policy::continue_after_fault);
    /// The same for views of requests held elsewhere (one request may appear several times: it
    /// is sent once per appearance, without copying it).
    std::vector<outcome> evaluate_batch(std::span<const request_ref> requests,
                                        batch_policy policy = batch_policy::continue_after_fault);

    /// Kills the current process (if any); the next request starts a fresh one.
    void restart();
    /// Clean shutdown: closes the process's stdin, waits up to exit_grace, then kills it.
    /// Returns how it ended (running if none was alive).
    exit_status shutdown();

    /// How many processes were started so far (1 + restarts, once the first request was sent).
    std::size_t starts() const noexcept { return starts_; }
    /// The process's pid, or -1 when none is running.
    pid_t pid() const noexcept { return process_.pid(); }
    /// Whether packed arrays travel through a shared region (client_options::shared_region
    /// and the system has memfd).
    bool uses_shared_region() const noexcept { return region_.valid(); }
    /// Grows the shared region (when there is one) to at least `bytes` now, so requests up to
    /// that size do not grow it one by one (each growth maps the region afresh, here and in
    /// the process). Returns whether the region holds that much.
    bool reserve_shared_region(std::size_t bytes) { return region_.reserve(bytes); }
    /// The command line.
    const std::string& command() const noexcept { return command_; }
    /// The limits in force.
    const client_options& options() const noexcept { return options_; }
    /// Changes the two timeouts for the requests that follow (a check lowers them while it
    /// shrinks a failure that timed out, so a hanging implementation cannot stretch the run).
    void set_timeouts(std::chrono::milliseconds request_timeout,
                      std::chrono::milliseconds startup_timeout) noexcept {
        options_.request_timeout = request_timeout;
        options_.startup_timeout = startup_timeout;
    }
    /// Changes how long a process that closed its stdout may take to exit (see client_options).
    void set_exit_grace(std::chrono::milliseconds grace) noexcept { options_.exit_grace = grace; }

  private:
    bool ensure_started(fault& failure);
    fault transport_fault(io_result result, std::string_view line);
    std::chrono::milliseconds current_timeout() const noexcept;

    std::string command_;
    client_options options_;
    subprocess process_;
    std::size_t starts_ = 0;
    std::size_t answered_ = 0;  // responses read from the current process
    std::int64_t next_id_ = 1;
    std::string out_buffer_;  // request lines; its size is room kept between batches
    std::string line_;
    shared_region region_;  // valid with options.shared_region (and a memfd)
};

}  // namespace xentcheck::check
