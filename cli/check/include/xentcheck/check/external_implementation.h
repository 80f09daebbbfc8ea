/// xentcheck/check/external_implementation.h: an external implementation for the properties.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "xentcheck/check/process_client.h"
#include "xentcheck/properties/implementation.h"

namespace xentcheck::check {

/// The protocol request for a problem, as views of its arrays (no copy: `p` must outlive it).
/// Options are sent only when exercised: the weight when there is one, ignore_index when it
/// differs from PyTorch's -100 (index targets), and label_smoothing when it is not 0.
request_ref to_request(const properties::problem& p);

/// A fault as the exception properties expect from an implementation that cannot answer; the
/// structured fault stays available for reports.
class fault_error : public properties::evaluation_error {
  public:
    /// Wraps `f`; what() is f.to_string().
    explicit fault_error(check::fault f);
    /// The fault.
    const check::fault& fault() const noexcept { return fault_; }

  private:
    check::fault fault_;
};

/// An external implementation behind a process_client: `--impl CMD` directly, `--lib PATH`
/// through serve_library_command(current_executable_path(), PATH).
class external_implementation final : public properties::implementation {
  public:
    /// `name` is what reports call it; `command` runs through /bin/sh -c.
    external_implementation(std::string name, std::string command, client_options options = {});
    /// The name given at construction.
    std::string name() const override { return name_; }
    /// The outputs for `p`, or throws fault_error for any fault (error responses included).
    properties::outputs evaluate(const properties::problem& p) override;
    /// Pipelined evaluation (finite-difference batches): one outcome per problem, no throw.
    std::vector<outcome> evaluate_batch(std::span<const properties::problem> problems,
                                        batch_policy policy = batch_policy::continue_after_fault);
    /// `p` asked `times` times in one pipelined batch, converted to a request once.
    std::vector<outcome> evaluate_repeated(
        const properties::problem& p, std::size_t times,
        batch_policy policy = batch_policy::continue_after_fault);
    /// The client, for its counters and shutdown.
    process_client& client() noexcept { return client_; }

  private:
    std::string name_;
    process_client client_;
};

}  // namespace xentcheck::check
