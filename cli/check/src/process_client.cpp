/// The process-backed implementation client: pipelined requests, fault classification, restarts.
#include "xentcheck/check/process_client.h"

#include "xentcheck/check/packed_protocol.h"

#include <csignal>
#include <system_error>

namespace xentcheck::check {

process_client::process_client(std::string command, client_options options)
    : command_(std::move(command)), options_(options), process_(command_, options.max_line_bytes) {
    if (options_.packed && options_.shared_region) {
        region_ = shared_region::create();
        process_.pass_descriptor(region_.fd());
    }
}

process_client::~process_client() {
    shutdown();
}

std::chrono::milliseconds process_client::current_timeout() const noexcept {
    return answered_ == 0 ? options_.startup_timeout : options_.request_timeout;
}

bool process_client::ensure_started(fault& failure) {
    if (process_.running()) return true;
    try {
        ++starts_;
        answered_ = 0;
        process_.start();
        return true;
    } catch (const std::system_error& e) {
        failure.kind = fault_kind::start_failed;
        failure.message = std::string("cannot start /bin/sh -c: ") + e.what();
        failure.at_startup = true;
        return false;
    }
}

fault process_client::transport_fault(io_result result, std::string_view line) {
    fault f;
    f.at_startup = answered_ == 0;
    const auto ms = [](std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; };
    if (result == io_result::timed_out) {
        f.kind = fault_kind::timed_out;
        f.message = "no response within " + ms(current_timeout()) +
                    (f.at_startup ? " (the first response after start-up)" : "") +
                    "; the process group was killed";
        f.raw = truncate_raw(process_.pending_output());
        process_.kill();
        return f;
    }
    if (result == io_result::too_long) {
        f.kind = fault_kind::line_too_long;
        f.message = "a response line exceeded " + std::to_string(options_.max_line_bytes) +
                    " bytes; the process group was killed";
        f.raw = truncate_raw(line);
        process_.kill();
        return f;
    }
    // eof, partial_line or broken_pipe: the process is ending, or closed its pipes.
    const exit_status st = process_.wait_for_exit(options_.exit_grace);
    const std::string when = f.at_startup ? " before answering any request" : "";
    if (st.how == exit_status::state::running) {
        f.kind = fault_kind::output_closed;
        f.message = "closed its stdout but kept running; the process group was killed";
        process_.kill();
    } else if (st.how == exit_status::state::signaled) {
        f.kind = fault_kind::crashed;
        f.message = st.to_string() + when;
    } else if (st.code > 128 && st.code <= 128 + 64) {
        // The shell ran the command as its child and reports a death by signal s as 128 + s.
        exit_status as_signal{exit_status::state::signaled, st.code - 128};
        f.kind = fault_kind::crashed;
        f.message = as_signal.to_string() + " (reported by the shell as status " +
                    std::to_string(st.code) + ")" + when;
    } else if ((st.code == 126 || st.code == 127) && f.at_startup) {
        f.kind = fault_kind::start_failed;
        f.message = "the command could not be run: the shell exited with status " +
                    std::to_string(st.code) +
                    (st.code == 127 ? " (command not found)" : " (not executable)") +
                    "; its stderr says why";
    } else if (st.code != 0) {
        f.kind = fault_kind::exited;
        f.message = st.to_string() + when;
    } else {
        f.kind = fault_kind::output_closed;
        f.message = "exited with status 0" + when + " while a response was due";
    }
    if (result == io_result::partial_line) {
        f.kind = fault_kind::partial_line;
        f.message =
            "the output ended inside a response line (no '\\n'); the process " +
            (st.how == exit_status::state::running ? std::string("kept running") : st.to_string());
        f.raw = truncate_raw(line);
    }
    process_.kill();  // closes the pipes; the status was recorded above
    return f;
}

std::vector<outcome> process_client::evaluate_batch(std::span<const request> requests,
                                                    batch_policy policy) {
    const std::vector<request_ref> views(requests.begin(), requests.end());
    return evaluate_batch(std::span<const request_ref>(views), policy);
}

std::vector<outcome> process_client::evaluate_batch(std::span<const request_ref> requests,
                                                    batch_policy policy) {
    std::vector<outcome> results(requests.size());
    std::vector<std::int64_t> ids(requests.size());
    std::size_t next = 0;
    const auto skip_rest = [&](std::size_t from) {
        for (std::size_t k = from; k < requests.size(); ++k) {
            results[k].fault.kind = fault_kind::skipped;
            results[k].fault.message = "not sent: an earlier request of the batch faulted";
        }
    };
    while (next < requests.size()) {
        fault start_failure;
        if (!ensure_started(start_failure)) {
            results[next].fault = start_failure;
            if (policy == batch_policy::stop_at_first_fault) {
                skip_rest(next + 1);
                break;
            }
            ++next;
            continue;
        }
        std::size_t out_used = 0;  // out_buffer_'s size is room kept from batch to batch
        // The batch's arrays fill the shared region from its start: the answers to earlier
        // batches were read, and a process that faulted was killed before this one started.
        region_cursor shared{&region_, 0};
        region_cursor* const to_region = region_.valid() ? &shared : nullptr;
        for (std::size_t k = next; k < requests.size(); ++k) {
            ids[k] = next_id_++;
            if (options_.packed) {
                out_buffer_.resize(out_used);
                encode_packed_request(requests[k], ids[k], out_buffer_, to_region);
                out_used = out_buffer_.size();
            } else {
                detail::encode_request_at(requests[k], ids[k], out_buffer_, out_used);
            }
        }
        const io_result written =
            process_.write_all(std::string_view(out_buffer_.data(), out_used), current_timeout());
        bool restarted = false;
        for (std::size_t k = next; k < requests.size(); ++k) {
            // After a stalled write only answers already received count: the process is not
            // reading, so waiting longer cannot help.
            const auto deadline = written == io_result::timed_out
                                      ? subprocess::clock::now()
                                      : subprocess::clock::now() + current_timeout();
            const io_result got = process_.read_line(line_, deadline);
            outcome& out = results[k];
            if (got == io_result::ok) {
                out = options_.packed
                          ? decode_packed_response(line_, ids[k], response_shape::of(requests[k]),
                                                   region_.valid() ? &region_ : nullptr)
                          : decode_response(line_, ids[k], response_shape::of(requests[k]));
                if (!requires_restart(out.fault.kind)) {
                    ++answered_;
                    continue;
                }
                out.fault.at_startup = answered_ == 0;
                process_.kill();
            } else {
                out.fault = transport_fault(got, line_);
            }
            restarted = true;
            next = k + 1;
            if (policy == batch_policy::stop_at_first_fault) {
                skip_rest(next);
                next = requests.size();
            }
            break;
        }
        if (!restarted) next = requests.size();
    }
    return results;
}

outcome process_client::evaluate(const request_ref& r) {
    return std::move(evaluate_batch(std::span<const request_ref>(&r, 1)).front());
}

void process_client::restart() {
    process_.kill();
}

exit_status process_client::shutdown() {
    if (!process_.running()) return exit_status{};
    return process_.stop(options_.exit_grace);
}

}  // namespace xentcheck::check
