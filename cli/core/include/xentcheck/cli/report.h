/// xentcheck/cli/report.h: streaming reports of evaluated cases (the interface and the sink).
#pragma once

#include <cstddef>
#include <cstdio>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "xentcheck/cli/eval_case.h"
#include "xentcheck/cli/evaluation.h"
#include "xentcheck/cli/input_problem.h"

namespace xentcheck::cli {

/// Exit codes of the commands.
namespace exit_codes {
inline constexpr int ok = 0;            ///< every case read and every check passed
inline constexpr int check_failed = 1;  ///< every case read, some check failed
inline constexpr int bad_input = 2;     ///< a file or case could not be read, or bad usage
}  // namespace exit_codes

/// Counts of a run.
struct run_summary {
    std::size_t passed = 0;  ///< cases whose checks all passed
    std::size_t failed = 0;  ///< cases with a failed check
    std::size_t errors = 0;  ///< cases or files that could not be read
    /// bad_input if any error, else check_failed if any failure, else ok.
    int exit_code() const noexcept {
        return errors ? exit_codes::bad_input : failed ? exit_codes::check_failed : exit_codes::ok;
    }
};

/// Buffered output to a C stream: reports append to buffer() and call maybe_flush() after
/// each case, so memory stays flat however many cases are written.
class output_sink {
  public:
    /// Writes to `stream` (not owned).
    explicit output_sink(std::FILE* stream) : stream_(stream) {}
    ~output_sink();
    output_sink(const output_sink&) = delete;
    output_sink& operator=(const output_sink&) = delete;
    /// The pending text.
    fmt::memory_buffer& buffer() noexcept { return buffer_; }
    /// Writes the pending text when it is large.
    void maybe_flush() {
        if (buffer_.size() >= flush_threshold) flush();
    }
    /// Writes the pending text and flushes the stream. Throws std::runtime_error if the stream
    /// cannot be written.
    void flush();

  private:
    static constexpr std::size_t flush_threshold = 1 << 16;
    std::FILE* stream_;
    fmt::memory_buffer buffer_;
};

/// Receives cases as they are evaluated and writes them at once (nothing is accumulated).
class report {
  public:
    virtual ~report() = default;
    /// A case that was read and evaluated; `file` is the path it came from.
    virtual void add_case(const std::string& file, const eval_case& c, const evaluation& e) = 0;
    /// A case or file that could not be read.
    virtual void add_problem(const input_problem& p) = 0;
    /// The end of the run.
    virtual void finish(const run_summary& summary) = 0;
};

/// Whether to colour text output.
enum class color_mode { automatic, always, never };

/// Whether text written to `stream` should be coloured: always / never as asked; automatic:
/// only when the stream is a terminal and NO_COLOR is unset or empty (https://no-color.org).
bool use_color(color_mode mode, std::FILE* stream);

/// The human-readable report: a table per case, problems inline, a summary line.
std::unique_ptr<report> make_text_report(output_sink& out, bool color);

/// The JSON report: one object {"cases": [...], "summary": {...}} written case by case. Each
/// problem is also written as one line to `messages` (for example stderr), when not null.
std::unique_ptr<report> make_json_report(output_sink& out, std::FILE* messages);

}  // namespace xentcheck::cli
