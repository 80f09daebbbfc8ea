/// check_test_support.h: requests, commands and reference comparisons shared by the tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "xentcheck/check/protocol.h"
#include "xentcheck/checks.h"

namespace xentcheck::check::testing {

/// A request of `rows` x `classes` logits spread over [-3, 3] (float32-exact), index targets
/// (row i -> class i mod C), no options.
request make_request(std::size_t rows, std::size_t classes,
                     xentcheck::reduction red = reduction::mean, dtype type = dtype::float64);

/// A path under the source tree's examples/ folder.
std::string example_path(const std::string& relative);

/// The shell command running a Python example with the test interpreter (arguments appended).
std::string python_command(const std::string& script, const std::string& arguments = "");

/// The command that serves `library` through the serve-lib test driver; with `region`, the
/// driver takes the client's shared region as descriptor 3 (client_options::shared_region).
std::string serve_command(const std::string& library, bool region = false);

/// probs, loss and grad of `values` compared with the long double reference under the
/// tolerance model of the request's dtype.
std::vector<check_result> compare_with_reference(const request_ref& r,
                                                 const response_values& values);

/// "" when every comparison passed, else a description of the failures.
std::string describe_failures(const std::vector<check_result>& results);

/// Whether this process has no child left (running or zombie).
bool no_child_processes();

}  // namespace xentcheck::check::testing
