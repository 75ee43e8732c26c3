// tests/support/subprocess.hpp — running a scenario of this very test binary
// in a child process, for the paths that end the process (panics, fatal
// errors, SIGQUIT) and for settings read from the environment at start-up.
//
//   GORO_SCENARIO(deadlock_wait_group) { return goro::run([] { ... }); }
//
//   proc_result r = run_self("deadlock_wait_group");
//   CHECK(r.exit_status == 2);
//
// run_self re-executes /proc/self/exe with GORO_TEST_SCENARIO=<name>; main()
// (tests/support/main.cpp) then calls the registered function and exits with
// its result instead of running doctest. A scenario reports facts it knows
// (fiber ids, source lines) by `emit("key", value)` lines on stdout, written
// unbuffered so they survive a process that dies by _exit or a signal.
#pragma once

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace goro_test {

// ---------------------------------------------------------------------------
// Scenario registry (child side)

using scenario_fn = int (*)();

inline std::map<std::string, scenario_fn>& scenario_registry() {
    static std::map<std::string, scenario_fn> registry;
    return registry;
}

struct scenario_registrar {
    scenario_registrar(const char* name, scenario_fn fn) {
        if (!scenario_registry().emplace(name, fn).second) {
            std::fprintf(stderr, "duplicate test scenario name: %s\n", name);
            std::abort();
        }
    }
};

// Defines and registers `int scenario()`; its return value is the child's
// exit status.
#define GORO_SCENARIO(name)                                                                     \
    static int goro_scenario_fn_##name();                                                       \
    static const ::goro_test::scenario_registrar goro_scenario_registrar_##name{               \
        #name, &goro_scenario_fn_##name};                                                       \
    static int goro_scenario_fn_##name()

inline constexpr const char* scenario_env_var = "GORO_TEST_SCENARIO";

// Runs the named scenario; 127 for an unknown name.
inline int run_scenario(const char* name) {
    auto it = scenario_registry().find(name);
    if (it == scenario_registry().end()) {
        std::fprintf(stderr, "unknown test scenario: %s\n", name);
        return 127;
    }
    const int rc = it->second();
    std::fflush(stdout);
    std::fflush(stderr);
    return rc;
}

// Writes "key=value\n" to stdout with one write(2): unbuffered, and atomic
// with respect to other emitters.
inline void emit(const char* key, unsigned long long value) {
    char line[128];
    const int n = std::snprintf(line, sizeof line, "%s=%llu\n", key, value);
    if (n > 0) {
        const ssize_t written = ::write(STDOUT_FILENO, line, static_cast<std::size_t>(n));
        (void)written;
    }
}

// ---------------------------------------------------------------------------
// Running a scenario (parent side)

struct proc_result {
    int exit_status = -1;  // the exit status if the child exited, else -1
    int signal = 0;        // the signal that killed the child, else 0
    bool timed_out = false;  // killed by run_self after the timeout
    std::string spawn_error;  // non-empty if the child could not be started
    std::string out, err;
};

// Everything about a finished child, for failure messages.
inline std::string describe(const proc_result& r) {
    std::string s = "exit_status=" + std::to_string(r.exit_status) +
                    " signal=" + std::to_string(r.signal) + (r.timed_out ? " TIMED OUT" : "");
    if (!r.spawn_error.empty()) s += " spawn error: " + r.spawn_error;
    s += "\n--- child stdout ---\n" + r.out + "\n--- child stderr ---\n" + r.err +
         "\n--- end of child output ---";
    return s;
}

// Re-executes this binary to run `scenario`. `env` entries "NAME=value" are
// set in the child, entries "NAME" (no '=') are removed from its environment.
// Stdout and stderr are captured; stdin is /dev/null. A child still running
// after `timeout` is killed with SIGKILL and reported as timed_out.
inline proc_result run_self(const char* scenario, const std::vector<std::string>& env = {},
                            std::chrono::seconds timeout = std::chrono::seconds(60)) {
    proc_result result;

    // The child's environment: ours, minus the scenario variable and every
    // name `env` mentions, plus `env`'s assignments and the scenario.
    auto name_of = [](std::string_view entry) { return entry.substr(0, entry.find('=')); };
    std::vector<std::string> child_env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        const std::string_view entry(*e);
        bool drop = name_of(entry) == scenario_env_var;
        for (const std::string& override_entry : env)
            drop = drop || name_of(entry) == name_of(override_entry);
        if (!drop) child_env.emplace_back(entry);
    }
    for (const std::string& entry : env)
        if (entry.find('=') != std::string::npos) child_env.push_back(entry);
    child_env.push_back(std::string(scenario_env_var) + "=" + scenario);

    std::vector<char*> envp;
    for (std::string& entry : child_env) envp.push_back(entry.data());
    envp.push_back(nullptr);
    char arg0[] = "goro-test-scenario";
    char* argv[] = {arg0, nullptr};

    int out_pipe[2], err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
        result.spawn_error = std::string("pipe2: ") + std::strerror(errno);
        return result;
    }
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
        result.spawn_error = std::string("pipe2: ") + std::strerror(errno);
        ::close(out_pipe[0]);
        ::close(out_pipe[1]);
        return result;
    }

    // posix_spawn is fork+exec without running anything of ours in between:
    // the child gets default signal dispositions and an empty signal mask
    // whatever state the test process's threads are in.
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

    pid_t pid = -1;
    const int spawn_rc = ::posix_spawn(&pid, "/proc/self/exe", &actions, &attr, argv, envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    if (spawn_rc != 0) {
        result.spawn_error = std::string("posix_spawn: ") + std::strerror(spawn_rc);
        ::close(out_pipe[0]);
        ::close(err_pipe[0]);
        return result;
    }

    // Read both pipes until the child closes them, or until the deadline.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    std::string* sinks[2] = {&result.out, &result.err};
    int open_fds = 2;
    while (open_fds > 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            result.timed_out = true;
            break;
        }
        const int ready = ::poll(fds, 2, static_cast<int>(left.count()));
        if (ready < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) continue;
            char buf[8192];
            const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                sinks[i]->append(buf, static_cast<std::size_t>(n));
            } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
                ::close(fds[i].fd);
                fds[i].fd = -1;
                --open_fds;
            }
        }
    }
    for (pollfd& p : fds)
        if (p.fd >= 0) ::close(p.fd);

    // Reap the child; one that outlives the deadline (or closed its pipes and
    // kept running) is killed.
    int status = 0;
    for (;;) {
        const pid_t w = ::waitpid(pid, &status, WNOHANG);
        if (w == pid) break;
        if (w < 0 && errno != EINTR) {
            result.spawn_error = std::string("waitpid: ") + std::strerror(errno);
            return result;
        }
        if (w == 0 && (result.timed_out || std::chrono::steady_clock::now() >= deadline)) {
            result.timed_out = true;
            ::kill(pid, SIGKILL);
            while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            break;
        }
        if (w == 0) ::usleep(1000);
    }
    if (WIFEXITED(status)) result.exit_status = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
    return result;
}

// ---------------------------------------------------------------------------
// Reading a child's output

inline std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

inline std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// Every value emitted under `key`, in order.
inline std::vector<std::uint64_t> emitted_all(const std::string& out, const std::string& key) {
    std::vector<std::uint64_t> values;
    const std::string prefix = key + "=";
    for (const std::string& line : split_lines(out))
        if (line.rfind(prefix, 0) == 0) values.push_back(std::strtoull(line.c_str() + prefix.size(), nullptr, 10));
    return values;
}

// The single value emitted under `key`, or 0 if there is none.
inline std::uint64_t emitted(const std::string& out, const std::string& key) {
    const std::vector<std::uint64_t> values = emitted_all(out, key);
    return values.empty() ? 0 : values.front();
}

}  // namespace goro_test
