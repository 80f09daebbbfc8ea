/// command_test_support.cpp: running the built xentcheck (files or a pseudo-terminal), paths.
#include "command_test_support.h"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>

#include "xentcheck/check/serve_library.h"

namespace xentcheck::check::testing {

namespace {

using clock = std::chrono::steady_clock;

[[noreturn]] void exec_child(const std::vector<std::string>& args) {
    if (::chdir(XENTCHECK_SOURCE_DIR) != 0) ::_exit(126);
    ::setpgid(0, 0);  // its own group, so a kill takes its implementation with it
    std::vector<std::string> copies(args);
    std::string exe = XENTCHECK_EXE;
    std::vector<char*> argv{exe.data()};
    for (auto& a : copies)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
}

int decode_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

/// Waits for `pid` until `deadline`, reading `drain` (a pty master, or -1) meanwhile.
int wait_until(pid_t pid, clock::time_point deadline, int drain, std::string& drained,
               bool& killed) {
    for (;;) {
        int status = 0;
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) return decode_status(status);
        if (r < 0 && errno != EINTR) return -1;
        if (clock::now() > deadline && !killed) {
            killed = true;
            ::kill(-pid, SIGKILL);
            ::kill(pid, SIGKILL);
        }
        if (drain >= 0) {
            pollfd p{drain, POLLIN, 0};
            if (::poll(&p, 1, 20) > 0) {
                char buf[4096];
                const ssize_t n = ::read(drain, buf, sizeof buf);
                if (n > 0) drained.append(buf, static_cast<std::size_t>(n));
            }
        } else {
            ::usleep(5000);
        }
    }
}

std::string temp_path(const char* tag) {
    static int counter = 0;
    return ::testing::TempDir() + "xentcheck_check_" + std::to_string(::getpid()) + "_" +
           std::to_string(counter++) + "_" + tag;
}

}  // namespace

command_result run_xentcheck(const std::vector<std::string>& args, double limit_seconds,
                             bool terminal) {
    command_result result;
    const auto start = clock::now();
    const auto deadline = start + std::chrono::duration_cast<clock::duration>(
                                      std::chrono::duration<double>(limit_seconds));
    if (terminal) {
        int master = -1;
        const pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
        if (pid < 0) throw std::runtime_error("forkpty failed");
        if (pid == 0) exec_child(args);
        result.exit_code = wait_until(pid, deadline, master, result.out, result.killed);
        char buf[4096];
        for (;;) {  // what is left after the child exited
            pollfd p{master, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) break;
            const ssize_t n = ::read(master, buf, sizeof buf);
            if (n <= 0) break;
            result.out.append(buf, static_cast<std::size_t>(n));
        }
        ::close(master);
    } else {
        const std::string out_path = temp_path("out"), err_path = temp_path("err");
        const pid_t pid = ::fork();
        if (pid < 0) throw std::runtime_error("fork failed");
        if (pid == 0) {
            const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            const int in = ::open("/dev/null", O_RDONLY);
            if (out < 0 || err < 0 || in < 0) ::_exit(126);
            ::dup2(in, 0), ::dup2(out, 1), ::dup2(err, 2);
            exec_child(args);
        }
        std::string unused;
        result.exit_code = wait_until(pid, deadline, -1, unused, result.killed);
        result.out = read_text(out_path);
        result.err = read_text(err_path);
        std::filesystem::remove(out_path);
        std::filesystem::remove(err_path);
    }
    result.seconds = std::chrono::duration<double>(clock::now() - start).count();
    return result;
}

std::string source_file(const std::string& relative) {
    return std::string(XENTCHECK_SOURCE_DIR) + "/" + relative;
}

std::string python_impl(const std::string& script, const std::string& arguments) {
    std::string cmd = "exec " + shell_quote(XENTCHECK_PYTHON) + " " +
                      shell_quote(source_file("examples/" + script));
    if (!arguments.empty()) cmd += " " + arguments;
    return cmd;
}

std::string fresh_directory(const std::string& name) {
    const std::string dir = temp_path(name.c_str());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << text;
}

std::string read_text(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

nlohmann::json parse_json(const std::string& text) {
    return nlohmann::json::parse(text);
}

nlohmann::json property_of(const nlohmann::json& report, const std::string& name) {
    for (const auto& p : report.at("properties"))
        if (p.at("name") == name) return p;
    return nullptr;
}

std::vector<std::string> failed_properties(const nlohmann::json& report) {
    std::vector<std::string> out;
    for (const auto& p : report.at("properties"))
        if (p.at("status") == "failed") out.push_back(p.at("name"));
    return out;
}

}  // namespace xentcheck::check::testing
