#include "support/subprocess.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <thread>

namespace rs::test {
namespace {

// Fixed-size and lock-free so the signal handler can walk it.
constexpr int kMaxChildren = 512;
std::atomic<pid_t> g_children[kMaxChildren];

void KillRegisteredChildren() {
  for (auto& slot : g_children) {
    pid_t pid = slot.exchange(0);
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
}

void OnFatalSignal(int sig) {
  KillRegisteredChildren();  // Only kill/waitpid: async-signal-safe.
  signal(sig, SIG_DFL);
  raise(sig);
}

void InstallCleanupHooksOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    std::atexit(KillRegisteredChildren);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
      struct sigaction old {};
      // Leave handlers someone else installed alone; chaining them is not worth the risk.
      if (sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) {
        struct sigaction sa {};
        sa.sa_handler = OnFatalSignal;
        sigemptyset(&sa.sa_mask);
        sigaction(sig, &sa, nullptr);
      }
    }
  });
}

bool Register(pid_t pid) {
  for (auto& slot : g_children) {
    pid_t expected = 0;
    if (slot.compare_exchange_strong(expected, pid)) return true;
  }
  return false;
}

bool IsRegistered(pid_t pid) {
  for (auto& slot : g_children) {
    if (slot.load() == pid) return true;
  }
  return false;
}

void Unregister(pid_t pid) {
  for (auto& slot : g_children) {
    pid_t expected = pid;
    if (slot.compare_exchange_strong(expected, 0)) return;
  }
}

}  // namespace

Result<pid_t> Spawn(const std::vector<std::string>& argv, const std::filesystem::path& output) {
  if (argv.empty()) return Status::InvalidArgument("Spawn: empty argv");
  InstallCleanupHooksOnce();
  // Everything the child needs is prepared before fork: after fork only async-signal-safe calls.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int out = open(output.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0) {
    return Status::IoError("Spawn: open " + output.string() + ": " + std::strerror(errno));
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(out);
    return Status::IoError("Spawn: fork: " + std::string(std::strerror(err)));
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);  // The parent died before prctl took effect.
    dup2(out, STDOUT_FILENO);
    dup2(out, STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    // Test sockets and files are not the server's business.
    syscall(SYS_close_range, 3U, ~0U, 0U);
    // The test binary may have blocked or ignored signals; the server must start clean.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) signal(sig, SIG_DFL);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(out);
  if (!Register(pid)) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return Status::Unavailable("Spawn: more than 512 live children");
  }
  return pid;
}

bool ChildRunning(pid_t pid) {
  if (pid <= 0 || !IsRegistered(pid)) return false;
  int status = 0;
  pid_t r = waitpid(pid, &status, WNOHANG);
  if (r == 0) return true;
  Unregister(pid);  // Exited (r == pid) or not our child any more (r < 0).
  return false;
}

Result<int> TerminateChild(pid_t pid, int signal, std::chrono::milliseconds timeout) {
  // Only ever signal a pid we spawned and have not reaped: a reaped pid may belong to anyone now.
  if (pid <= 0 || !IsRegistered(pid)) {
    return Status::FailedPrecondition("pid " + std::to_string(pid) + " is not a live child");
  }
  if (kill(pid, signal) != 0 && errno != ESRCH) {
    return Status::IoError("kill " + std::to_string(pid) + ": " + std::strerror(errno));
  }
  // A stopped process only acts on SIGTERM once it runs again.
  if (signal != SIGKILL) kill(pid, SIGCONT);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0) {
      Unregister(pid);
      return Status::FailedPrecondition("pid " + std::to_string(pid) + " is not our child");
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Unregister(pid);
  return status;
}

Status SignalChild(pid_t pid, int signal) {
  if (pid <= 0 || !IsRegistered(pid) || kill(pid, signal) != 0) {
    return Status::FailedPrecondition("signal " + std::to_string(signal) + " to pid " +
                                      std::to_string(pid) + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

Result<int> RunCommand(const std::vector<std::string>& argv, const std::filesystem::path& output,
                       std::chrono::milliseconds timeout) {
  RS_ASSIGN_OR_RETURN(pid_t pid, Spawn(argv, output));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      (void)TerminateChild(pid, SIGKILL, timeout);
      return Status::Timeout(argv[0] + " did not finish within " + std::to_string(timeout.count()) +
                             " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Unregister(pid);
  if (WIFEXITED(status)) {
    if (WEXITSTATUS(status) == 127) return Status::NotFound("cannot execute " + argv[0]);
    return WEXITSTATUS(status);
  }
  return Status::Aborted(argv[0] + " died from signal " + std::to_string(WTERMSIG(status)));
}

std::vector<pid_t> LiveChildren() {
  std::vector<pid_t> pids;
  for (auto& slot : g_children) {
    pid_t pid = slot.load();
    if (pid > 0) pids.push_back(pid);
  }
  return pids;
}

std::string TailOfFile(const std::filesystem::path& path, size_t lines) {
  std::ifstream in(path);
  if (!in) return "";
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    tail.push_back(std::move(line));
    if (tail.size() > lines) tail.pop_front();
  }
  std::string out;
  for (const auto& l : tail) out += l + "\n";
  return out;
}

}  // namespace rs::test
