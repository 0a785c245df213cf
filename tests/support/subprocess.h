// Child processes for tests: started so they cannot outlive the test binary, stopped by pid.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"

namespace rs::test {

// Starts argv[0] (looked up in PATH) with stdout and stderr appended to `output`.
// The child gets PR_SET_PDEATHSIG(SIGKILL), so it dies when the thread that spawned it dies —
// spawn from the test's main thread. Its pid is also kept in a process-wide registry: an atexit
// hook and SIGINT/SIGTERM/SIGHUP handlers kill whatever is still registered, by pid.
Result<pid_t> Spawn(const std::vector<std::string>& argv, const std::filesystem::path& output);

// Non-blocking: true while `pid` (a child from Spawn) has not exited. Reaps it if it has.
bool ChildRunning(pid_t pid);

// Sends `signal` to a child from Spawn and waits up to `timeout` for it to exit; then SIGKILLs
// and reaps it. Always leaves the pid reaped and unregistered. Returns the wait status.
Result<int> TerminateChild(pid_t pid, int signal, std::chrono::milliseconds timeout);

// Sends a signal that does not end the process (SIGSTOP, SIGCONT).
Status SignalChild(pid_t pid, int signal);

// Runs argv to completion (killed after `timeout`) with output to `output`; returns the exit
// code, or an error if it could not start, timed out or died from a signal.
Result<int> RunCommand(const std::vector<std::string>& argv, const std::filesystem::path& output,
                       std::chrono::milliseconds timeout);

// Pids started by Spawn that have not been reaped yet.
std::vector<pid_t> LiveChildren();

// The last `lines` lines of a text file ("" if it cannot be read).
std::string TailOfFile(const std::filesystem::path& path, size_t lines);

}  // namespace rs::test
