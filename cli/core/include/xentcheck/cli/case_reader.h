/// xentcheck/cli/case_reader.h: a case file (object, array, {"cases": [...]}, JSON Lines) read
/// one case at a time.
#pragma once

#include <cstddef>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "xentcheck/cli/eval_case.h"
#include "xentcheck/cli/input_problem.h"
#include "xentcheck/cli/json_numbers.h"

namespace xentcheck::cli {

/// Whether `path` names a JSON Lines file (its name ends in ".jsonl", in any letter case).
bool is_json_lines_path(const std::string& path);

/// Reads the cases of one file in order. Problems never throw: a file that cannot be read or
/// parsed yields one file-level error; a bad case yields an error for that case only, and
/// reading continues with the next. JSON Lines files are read line by line, so memory stays
/// bounded by the longest line; other files are parsed whole.
class case_reader {
  public:
    /// The outcome of next().
    enum class status {
        done,   ///< no more cases
        ok,     ///< current() holds a valid case
        error,  ///< problem() describes a bad case (case_index set) or a bad file (not set)
    };

    /// Prepares to read `path` (nothing is opened until the first next()).
    explicit case_reader(std::string path);
    ~case_reader();
    case_reader(const case_reader&) = delete;
    case_reader& operator=(const case_reader&) = delete;

    /// Reads the next case or problem.
    status next();
    /// The case read by the last next() that returned ok.
    const eval_case& current() const noexcept { return case_; }
    /// Moves the case read by the last next() that returned ok into `into`, by swapping: the
    /// reader refills `into`'s old buffers next time. current() is unspecified afterwards.
    void take_current(eval_case& into) noexcept {
        using std::swap;
        swap(case_, into);
    }
    /// The problem reported by the last next() that returned error.
    const input_problem& problem() const noexcept { return problem_; }
    /// The file being read.
    const std::string& path() const noexcept { return path_; }

  private:
    enum class form { unopened, json_lines, document, finished };
    void open();
    status next_line();
    status next_in_document();
    status parse_into_case(const nlohmann::json& value);
    status file_error(std::string message, std::string field = {});

    std::string path_;
    form form_ = form::unopened;
    std::FILE* file_ = nullptr;
    char* line_buffer_ = nullptr;
    std::size_t line_capacity_ = 0;
    std::size_t line_number_ = 0;
    std::size_t case_count_ = 0;
    nlohmann::json document_;                // the whole file (document form)
    const nlohmann::json* cases_ = nullptr;  // the array of cases, or the single case
    bool single_case_ = false;
    bool single_case_read_ = false;  // the single case was read directly into case_
    nlohmann::json line_value_;      // the current line (JSON Lines form)
    bare_token_rewrite rewrite_scratch_;
    eval_case case_;
    input_problem problem_;
};

}  // namespace xentcheck::cli
