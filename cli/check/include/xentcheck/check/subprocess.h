/// xentcheck/check/subprocess.h: a child process spoken to in lines, that can never hang us.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace xentcheck::check {

/// How a child process ended (or that it has not).
struct exit_status {
    /// The three states.
    enum class state { running, exited, signaled };
    state how = state::running;  ///< running, exited or signaled
    int code = 0;                ///< exit status (exited) or signal number (signaled)
    /// "running", "exited with status 3", "killed by signal 11 (SIGSEGV)".
    std::string to_string() const;
};

/// The result of a read or write.
enum class io_result {
    ok,            ///< done
    eof,           ///< the child's stdout ended with no pending bytes
    partial_line,  ///< the child's stdout ended after bytes without a '\n' (returned as the line)
    timed_out,     ///< the deadline passed (the child is left running: kill it if needed)
    broken_pipe,   ///< the child's stdin is closed (it exited or closed it)
    too_long,      ///< a line exceeded the size limit (the bytes so far are returned)
};

/// A command run as `/bin/sh -c COMMAND` in its own process group, with pipes to its stdin and
/// from its stdout; its stderr is ours. All I/O is non-blocking with poll(2) and deadlines, so
/// no call blocks past its deadline whatever the child does. SIGPIPE is blocked around each
/// write (and a pending one consumed), so a child that closes its stdin yields broken_pipe and
/// never kills the caller; the process-wide SIGPIPE disposition is left alone. The destructor
/// kills the process group and reaps the child: no zombies. Not thread-safe.
class subprocess {
  public:
    /// The clock of every deadline.
    using clock = std::chrono::steady_clock;

    /// Prepares `command` (not started); lines longer than `max_line_bytes` are refused.
    explicit subprocess(std::string command, std::size_t max_line_bytes = std::size_t(1) << 28);
    ~subprocess();
    subprocess(const subprocess&) = delete;
    subprocess& operator=(const subprocess&) = delete;

    /// Starts the command (killing a previous instance first). Throws std::system_error when no
    /// process can be created (pipes, posix_spawn); a command that does not exist is not an
    /// error here: the shell exits with status 127 and reading gives eof.
    void start();
    /// The descriptor number a child gets a passed descriptor as.
    static constexpr int passed_descriptor = 3;
    /// Gives every child started from now on the descriptor `fd` as its descriptor
    /// passed_descriptor (-1: none). `fd` must be above 2 and stays owned by the caller.
    void pass_descriptor(int fd) noexcept { passed_fd_ = fd; }
    /// Whether a child was started and has not been reaped yet.
    bool running() const noexcept { return pid_ > 0; }
    /// The child's pid (also its process group id), or -1.
    pid_t pid() const noexcept { return pid_; }

    /// Writes all of `data` to the child's stdin. While the pipe is full, the child's stdout is
    /// drained into the read buffer, so a child blocked writing its answers cannot deadlock
    /// with us. Gives up with timed_out when no byte moves either way for `idle_timeout`. A
    /// child that is gone gives broken_pipe, never a SIGPIPE that ends this process: when this
    /// process ignored SIGPIPE at start() (`xentcheck check` does), writes are plain writes;
    /// otherwise each write blocks SIGPIPE for the calling thread around it (three more
    /// system calls). A program that stops ignoring SIGPIPE must start() the child again.
    io_result write_all(std::string_view data, std::chrono::milliseconds idle_timeout);
    /// Reads one line (without '\n') into `line` before `deadline`. On partial_line and
    /// too_long, `line` holds the bytes received; on timed_out the bytes stay buffered.
    io_result read_line(std::string& line, clock::time_point deadline);
    /// Bytes received but not yet returned as a line.
    std::string_view pending_output() const noexcept;

    /// Closes the child's stdin (the protocol's "done" signal).
    void close_stdin() noexcept;
    /// Waits until the child exits or `timeout` passes; reaps it when it exited.
    exit_status wait_for_exit(std::chrono::milliseconds timeout);
    /// SIGKILLs the whole process group, reaps the child and closes the pipes. Returns how the
    /// child ended (signaled with SIGKILL unless it had already ended otherwise).
    exit_status kill();
    /// Clean shutdown: close stdin, wait up to `grace` for the child to exit, then kill().
    exit_status stop(std::chrono::milliseconds grace);
    /// How the last child ended (running while one is alive or none was started).
    exit_status last_status() const noexcept { return status_; }

  private:
    bool fill_buffer(bool& eof);
    void close_pipes() noexcept;

    std::string command_;
    std::size_t max_line_bytes_;
    pid_t pid_ = -1;
    int stdin_fd_ = -1;
    int stdout_fd_ = -1;
    int passed_fd_ = -1;
    bool stdout_eof_ = false;
    bool sigpipe_ignored_ = false;  // SIGPIPE's disposition was SIG_IGN at start()
    // The child's output: bytes [consumed_, filled_) of buffer_ are read and not yet returned.
    // buffer_'s size is its allocated room, grown only when a read needs more (resizing it
    // per read zero-filled 64 KiB each time: 6% of a check run's own time).
    std::string buffer_;
    std::size_t consumed_ = 0;
    std::size_t filled_ = 0;
    exit_status status_;
};

}  // namespace xentcheck::check
