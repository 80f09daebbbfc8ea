/// xentcheck/cli/eval_run.h: reading, evaluating and reporting the cases of files, on one or more
/// threads, with the report in input order.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "xentcheck/cli/report.h"

namespace xentcheck::cli {

/// How evaluate_files runs.
struct eval_run_options {
    /// Threads that evaluate cases, the calling thread included (1: everything on the calling
    /// thread). The calling thread always reads the files and writes the report, in input
    /// order, so the report is identical whatever the count.
    unsigned jobs = 1;
    /// Cases handed to a thread at a time (a batch closes earlier once it holds
    /// batch_values logits).
    std::size_t batch_cases = 64;
    /// Logits per batch, so that memory stays bounded for wide cases.
    std::size_t batch_values = 1 << 14;
};

/// The default thread count: the hardware's (at least 1, at most 8).
unsigned default_eval_jobs() noexcept;

/// Reads every case of `files` in order (case_reader), evaluates it (evaluator) and passes it,
/// or the problem that stopped it, to `out` in input order; returns the counts (the caller
/// calls out.finish). With jobs > 1, batches of cases are evaluated on worker threads while
/// the calling thread reads ahead and reports finished batches; at most 4 * jobs + 4 batches
/// are in flight, and a case of more than batch_values logits is evaluated on its own once
/// the batches before it are reported, so memory stays bounded by a few batches plus one
/// large case. Workers start only once a first batch is full: small runs stay on one thread.
run_summary evaluate_files(const std::vector<std::string>& files, report& out,
                           const eval_run_options& options = {});

}  // namespace xentcheck::cli
