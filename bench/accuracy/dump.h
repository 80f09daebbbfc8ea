/// The accuracy dump: the drawn cases and their oracle values, for torch_accuracy.py.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>

#include "xentcheck/oracle/error.h"
#include "xentcheck/oracle/oracle.h"
#include "xentcheck/oracle/sampler.h"

namespace xentcheck::accuracy {

/// Writes the dump format of docs/accuracy.md: one JSON header line, then one little-endian
/// binary record per case (inputs, then the oracle's values, residuals and magnitudes).
class dump_writer {
  public:
    /// Opens `path` and writes the header; throws std::runtime_error when it cannot.
    dump_writer(const std::string& path, std::uint64_t seed, std::uint64_t cases, long precision);
    /// Appends one case: its inputs, the oracle's values, and the reference's outputs `ref`.
    void write(std::uint64_t case_id, const oracle::sampled_case& c,
               const oracle::oracle_result& truth, const oracle::reference_bounds& bounds,
               const cross_entropy_result<double>& ref);
    /// Flushes and checks the stream; throws std::runtime_error on a write error.
    void close();

  private:
    std::ofstream out_;
    std::string path_;
};

}  // namespace xentcheck::accuracy
