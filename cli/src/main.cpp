/// xentcheck: the command-line tool. main() only wires the subcommands, parses and maps
/// errors to exit codes; each subcommand lives in its own files.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "check_command.h"
#include "eval_command.h"
#include "gen_command.h"
#include "xentcheck/cli/report.h"

int main(int argc, char** argv) {
    namespace cli = xentcheck::cli;
    CLI::App app{
        "xentcheck: the reference for softmax + cross-entropy (PyTorch semantics) and "
        "its checks",
        "xentcheck"};
    app.set_version_flag("--version", XENTCHECK_VERSION);
    app.require_subcommand(1);
    int exit_code = cli::exit_codes::ok;
    cli::setup_eval(app, exit_code);
    cli::setup_check(app, exit_code);
    cli::setup_gen(app, exit_code);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // --help and --version exit 0; every usage error exits 2.
        return app.exit(e) == 0 ? cli::exit_codes::ok : cli::exit_codes::bad_input;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "xentcheck: error: %s\n", e.what());
        return cli::exit_codes::bad_input;
    }
    return exit_code;
}
