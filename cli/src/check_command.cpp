/// The `xentcheck check` subcommand: options, start-up probe, the run, saving, the report.
#include "check_command.h"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "generation_options.h"
#include "xentcheck/check/check_report.h"
#include "xentcheck/check/check_run.h"
#include "xentcheck/check/packed_protocol.h"
#include "xentcheck/check/serve_library.h"
#include "xentcheck/cli/report.h"

namespace xentcheck::cli {

namespace {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

void print_error(const std::string& message) {
    std::fprintf(stderr, "xentcheck: error: %s\n", message.c_str());
}

/// A progress line on stderr, only when stderr is a terminal, at most ten updates a second,
/// and only once the run has lasted half a second.
class terminal_progress {
  public:
    terminal_progress() : enabled_(::isatty(STDERR_FILENO) == 1), start_(clock::now()) {}
    ~terminal_progress() { clear(); }
    terminal_progress(const terminal_progress&) = delete;
    terminal_progress& operator=(const terminal_progress&) = delete;

    void update(const check::run_progress& p) {
        if (!enabled_) return;
        const auto now = clock::now();
        if (now - start_ < milliseconds(500) || now - last_ < milliseconds(100)) return;
        last_ = now;
        std::string line = fmt::format("xentcheck check: [{}/{}] {} {}/{}", p.index + 1, p.count,
                                       p.property, p.tested, p.planned);
        if (p.shrinking) line += fmt::format(", shrinking ({} steps)", p.shrinks);
        line += fmt::format("  {:.0f} s", std::chrono::duration<double>(now - start_).count());
        std::fprintf(stderr, "\r\033[K%s", line.c_str());
        std::fflush(stderr);
        shown_ = true;
    }

    void clear() {
        if (!shown_) return;
        std::fprintf(stderr, "\r\033[K");
        std::fflush(stderr);
        shown_ = false;
    }

  private:
    bool enabled_;
    bool shown_ = false;
    clock::time_point start_, last_{};
};

/// The command line that reruns the same search (non-default options and the seed).
std::string reproduce_command(const check_options& o, std::uint64_t seed) {
    std::string s = "xentcheck check ";
    s += o.lib.empty() ? "--impl " + check::shell_quote(o.impl)
                       : "--lib " + check::shell_quote(o.lib);
    if (o.dtype != "float64") s += " --dtype " + o.dtype;
    if (o.targets != "index") s += " --targets " + o.targets;
    if (o.reduction != "mean") s += " --reduction " + o.reduction;
    if (!o.features.empty()) {
        s += " --features ";
        for (std::size_t k = 0; k < o.features.size(); ++k)
            s += (k ? "," : "") + o.features[k];
    }
    if (o.max_success != 100) s += " --max-success " + std::to_string(o.max_success);
    for (const auto& f : o.cases)
        s += " --cases " + check::shell_quote(f);
    if (o.timeout != 10) s += fmt::format(" --timeout {}", o.timeout);
    s += " --seed " + std::to_string(seed);
    return s;
}

/// A trivial problem (1 row, 2 classes) in the run's configuration, to see that the
/// implementation starts and answers at all.
properties::problem probe_problem(const properties::generator_config& config) {
    properties::problem p;
    p.dtype = config.dtypes.front();
    p.rows = 1;
    p.classes = 2;
    p.logits = {0.5, -0.25};
    if (config.targets.front() == properties::target_kind::index) {
        p.target = std::vector<std::int64_t>{1};
    } else {
        p.target = std::vector<double>{0.25, 0.75};
    }
    p.reduction = config.reductions.front();
    return p;
}

/// Faults that show the process cannot be run: it could not be started, it ended without a
/// signal before answering anything, or it never answered. (A crash by a signal is a finding:
/// the implementation crashed on the problem it was given, even if that is every problem.)
bool startup_failure(const check::fault& f) {
    using check::fault_kind;
    if (!f.at_startup) return false;
    switch (f.kind) {
        case fault_kind::start_failed:
        case fault_kind::exited:
        case fault_kind::output_closed:
        case fault_kind::timed_out:
            return true;
        default:
            return false;
    }
}

/// Writes each failed property's counterexample to DIR/<property>.json; returns the paths
/// (per property, "" when nothing was saved) or throws std::runtime_error.
std::vector<std::string> save_counterexamples(const std::string& dir, const check::run_outcome& run,
                                              const check::report_context& ctx) {
    std::vector<std::string> paths(run.properties.size());
    bool any = false;
    for (const auto& p : run.properties)
        any |= !p.passed && p.example.has_value();
    if (!any) return paths;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw std::runtime_error("cannot create --save directory " + dir + ": " + ec.message());
    for (std::size_t k = 0; k < run.properties.size(); ++k) {
        const auto& p = run.properties[k];
        if (p.passed || !p.example) continue;
        const std::string path = (std::filesystem::path(dir) / (p.name + ".json")).string();
        std::ofstream file(path, std::ios::binary | std::ios::trunc);
        file << check::saved_file_text(p, ctx);
        file.close();
        if (!file) throw std::runtime_error("cannot write " + path);
        paths[k] = path;
    }
    return paths;
}

/// A run allocates and frees arrays of up to a few times a case's size many times over (one per
/// property, request and answer). glibc would map each above 128 KiB afresh and give it back
/// on free, so every one paid its page faults again (a quarter of an (8, 128000) case's time);
/// kept in the heap, freed arrays are reused, also across the threads of --jobs (one heap: a
/// thread's own heap would keep what another thread could have reused).
void keep_freed_arrays() {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    mallopt(M_ARENA_MAX, 1);
}

/// Grows the heap by `bytes` of address space and advises it for transparent huge pages, where
/// the kernel grants them on request (THP "madvise" or "always"): a 2 MiB page costs one fault
/// where 4 KiB pages cost 512, and the first use of each array still faults (a quarter of the
/// system time of an (8, 128000) case's run was page faults). Pages are touched only when
/// arrays use them; where the advice is refused nothing changes. After keep_freed_arrays(): the
/// blocks, below the mapping threshold, come from the heap one after the other, and freed, they
/// join its top, which later arrays are carved from.
void heap_on_huge_pages(std::size_t bytes) {
    constexpr std::size_t block = 16 << 20;
    constexpr std::uintptr_t huge_page = 2 << 20;
    std::vector<void*> blocks;
    for (std::size_t grown = 0; grown < bytes; grown += block) {
        if (void* b = std::malloc(block)) blocks.push_back(b);
    }
    if (blocks.empty()) return;
    const auto [low, high] = std::minmax_element(blocks.begin(), blocks.end());
    const auto first = (reinterpret_cast<std::uintptr_t>(*low) + huge_page - 1) & ~(huge_page - 1);
    const auto last = (reinterpret_cast<std::uintptr_t>(*high) + block) & ~(huge_page - 1);
    // One call for the span: a part of it that is not the heap (were the blocks not adjacent)
    // makes it fail there and take effect on the rest.
    if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
    for (void* b : blocks)
        std::free(b);
}

}  // namespace

void setup_check(CLI::App& app, int& exit_code) {
    auto o = std::make_shared<check_options>();
    CLI::App* sub = app.add_subcommand(
        "check",
        "Check another implementation (a program speaking the JSON-lines protocol, or a shared "
        "library with the C ABI) against the reference and the properties of softmax + "
        "cross-entropy; each failure is shrunk to a minimal counterexample case. Exit code 0: "
        "every property passed; 1: some property failed; 2: usage error, unreadable --cases, or "
        "an implementation that cannot be started (see docs/check.md).");
    CLI::Option_group* which = sub->add_option_group("implementation", "What to check");
    which->add_option("--impl", o->impl,
                      "Command of a program speaking the protocol (run by /bin/sh -c; "
                      "docs/protocol.md)");
    which->add_option("--lib", o->lib, "Shared library with the C ABI (docs/abi.md)");
    which->require_option(1);
    sub->add_option("--dtype", o->dtype, "Precision of the generated problems")
        ->check(CLI::IsMember({"float64", "float32"}))
        ->capture_default_str();
    sub->add_option("--targets", o->targets, "Target form: class indices or probability rows")
        ->check(CLI::IsMember({"index", "probs"}))
        ->capture_default_str();
    sub->add_option("--reduction", o->reduction, "How row losses are combined")
        ->check(CLI::IsMember({"none", "mean", "sum"}))
        ->capture_default_str();
    sub->add_option("--features", o->features,
                    "Optional inputs to exercise, comma-separated: weight, ignore_index, "
                    "label_smoothing (default: none)")
        ->delimiter(',')
        ->check(CLI::IsMember({"weight", "ignore_index", "label_smoothing"}));
    sub->add_option("--seed", o->seed, "Seed of the generated problems (default: random)");
    sub->add_option("--max-success", o->max_success, "Generated problems per property")
        ->check(CLI::Range(0, 100000000))
        ->capture_default_str();
    sub->add_option("--cases", o->cases,
                    "Case file (docs/case-format.md) whose cases every property tries first; "
                    "may be repeated")
        ->check(CLI::ExistingFile);
    sub->add_option("--timeout", o->timeout, "Seconds to wait for each answer")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    sub->add_option("--jobs", o->jobs,
                    "Properties whose --cases are tried at once (0: one per core, at most 8)")
        ->check(CLI::Range(0, 64))
        ->capture_default_str();
    sub->add_option("--format", o->format, "Report format on stdout")
        ->check(CLI::IsMember({"text", "json", "junit"}))
        ->capture_default_str();
    sub->add_option("--save", o->save,
                    "Directory to write each counterexample to, as <property>.json");
    sub->callback([o, &exit_code]() { exit_code = run_check_command(*o); });

    auto library = std::make_shared<std::string>();
    auto region_fd = std::make_shared<int>(-1);
    CLI::App* serve = app.add_subcommand(
        "serve-lib", "Serve a C ABI library through the protocol (used by check --lib)");
    serve->group("");  // hidden from --help
    serve->add_option("library", *library, "Shared library path")->required();
    serve->add_option("--region-fd", *region_fd,
                      "Inherited descriptor of check's shared region (packed requests only)");
    serve->callback([library, region_fd, &exit_code]() {
        keep_freed_arrays();  // each request's arrays are as large as the last one's
        exit_code = check::serve_library(library->c_str(), *region_fd);
    });
}

int run_check_command(const check_options& o) {
    // A write to an implementation that is gone fails with EPIPE, which the client reports as
    // a fault, instead of raising SIGPIPE: the client then writes without masking the signal
    // around each write (three system calls a request). Children get the default back.
    std::signal(SIGPIPE, SIG_IGN);
    keep_freed_arrays();
    heap_on_huge_pages(std::size_t{512} << 20);
    properties::generator_config config;
    try {
        config = generator_config_for(o.dtype, o.targets, o.reduction, o.features);
    } catch (const std::invalid_argument& e) {
        print_error(e.what());
        return exit_codes::bad_input;
    }
    std::vector<input_problem> problems;
    std::vector<check::fixed_case> fixed = check::read_fixed_cases(o.cases, problems);
    if (!problems.empty()) {
        for (const auto& p : problems)
            print_error(p.to_string());
        return exit_codes::bad_input;
    }
    const std::uint64_t seed = o.seed ? *o.seed : std::random_device{}();
    const auto timeout = milliseconds(static_cast<long long>(o.timeout * 1000 + 0.5));
    const milliseconds first_start = std::max(timeout * 6, milliseconds(1000));
    check::client_options client;
    client.request_timeout = timeout;
    client.startup_timeout = first_start;
    std::string command = o.impl, name = o.impl;
    if (!o.lib.empty()) {
        const std::string self = check::current_executable_path();
        if (self.empty()) {
            print_error("cannot find the xentcheck executable to serve " + o.lib);
            return exit_codes::bad_input;
        }
        command = check::serve_library_command(self, o.lib, "serve-lib", true);
        name = o.lib;
        // Our own child: raw doubles in shared memory instead of JSON numbers on the pipe.
        client.packed = true;
        client.shared_region = true;
    }
    check::external_implementation external(name, command, client);
    // Room for the largest case asked twice in one batch (determinism), made once: growing the
    // region request by request maps it afresh each time, here and in the process.
    std::size_t region_bytes = 0;
    for (const check::fixed_case& fc : fixed) {
        region_bytes =
            std::max(region_bytes, 2 * check::packed_region_bytes(check::to_request(fc.problem)));
    }
    if (region_bytes > 0) external.client().reserve_shared_region(region_bytes);
    // Start-up: a trivial problem must get an answer (or a refusal) within the start-up
    // timeout, twice in a row at worst; otherwise the implementation cannot be run at all.
    const properties::problem probe = probe_problem(config);
    auto probe_start = clock::now();
    check::outcome first = external.client().evaluate(check::to_request(probe));
    auto latency = clock::now() - probe_start;
    if (!first.ok() && startup_failure(first.fault)) {
        // A quick failure is tried once more (a fluke must not end the run); a start-up that
        // already waited the whole start-up timeout is not.
        check::outcome second = first;
        if (first.fault.kind != check::fault_kind::timed_out) {
            probe_start = clock::now();
            second = external.client().evaluate(check::to_request(probe));
            latency = clock::now() - probe_start;
        }
        if (!second.ok() && startup_failure(second.fault)) {
            print_error("the implementation could not be started (" + name +
                        "): " + second.fault.to_string() +
                        " (on a first request with 1 row and 2 classes; its stderr above may "
                        "say why)");
            return exit_codes::bad_input;
        }
    }
    check::memo_implementation impl(external);
    check::run_options run;
    run.config = config;
    run.seed = seed;
    run.max_success = o.max_success;
    run.properties = check::default_check_properties();
    run.cases = std::move(fixed);
    run.jobs =
        o.jobs != 0 ? o.jobs : std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 8);
    run.timeout = timeout;
    run.exit_grace = client.exit_grace;
    run.startup_latency = std::chrono::duration_cast<std::chrono::nanoseconds>(latency);
    run.restart_timeout = std::min(
        first_start,
        std::max(milliseconds(2000), std::chrono::duration_cast<milliseconds>(latency * 4)) +
            timeout);
    check::run_outcome outcome;
    {
        terminal_progress progress;
        outcome = check::run_check(
            impl, run, [&progress](const check::run_progress& p) { progress.update(p); });
    }
    external.client().shutdown();
    check::report_context ctx;
    ctx.implementation = o.lib.empty() ? "--impl " + check::shell_quote(o.impl)
                                       : "--lib " + check::shell_quote(o.lib);
    ctx.implementation_name = name;
    ctx.seed = seed;
    ctx.dtype = o.dtype;
    ctx.targets = o.targets;
    ctx.reduction = o.reduction;
    ctx.features = o.features;
    ctx.max_success = o.max_success;
    ctx.case_files = o.cases;
    ctx.reproduce = reproduce_command(o, seed);
    int code = outcome.passed() ? exit_codes::ok : exit_codes::check_failed;
    if (!o.save.empty()) {
        try {
            ctx.saved = save_counterexamples(o.save, outcome, ctx);
        } catch (const std::runtime_error& e) {
            print_error(e.what());
            code = exit_codes::bad_input;
        }
    }
    std::string report;
    if (o.format == "json") {
        report = check::json_report(outcome, ctx);
    } else if (o.format == "junit") {
        report = check::junit_report(outcome, ctx);
    } else {
        report = check::text_report(outcome, ctx);
    }
    if (std::fwrite(report.data(), 1, report.size(), stdout) != report.size() ||
        std::fflush(stdout) != 0) {
        throw std::runtime_error("cannot write the report");
    }
    return code;
}

}  // namespace xentcheck::cli
