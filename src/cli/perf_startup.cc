// `hako perf startup -- <broker command>`: start the command, connect to --broker as soon as
// it listens, send ApiVersions v0, and time exec -> first answer; then SIGTERM it and time the
// shutdown too. Repeated --runs times; prints the median and the spread. With --until-exit it
// times exec -> exit instead (e.g. of `hako --version`: the floor any start-up pays).
#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fmt/core.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spawn.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "cli/perf.h"

extern char** environ;

namespace hako::cli::perf {

namespace {

sockaddr_storage resolve(const std::string& broker, socklen_t& len) {
    auto hp = bootstrap_servers(broker);
    auto colon = hp.rfind(':');
    if (colon == std::string::npos) throw std::invalid_argument("--broker wants host:port");
    std::string host = hp.substr(0, colon), port = hp.substr(colon + 1);
    if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (int e = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); e != 0)
        throw std::invalid_argument("cannot resolve " + hp + ": " + gai_strerror(e));
    sockaddr_storage ss{};
    std::memcpy(&ss, res->ai_addr, res->ai_addrlen);
    len = static_cast<socklen_t>(res->ai_addrlen);
    freeaddrinfo(res);
    return ss;
}

bool read_full(int fd, char* p, std::size_t n) {
    while (n > 0) {
        auto got = ::read(fd, p, n);
        if (got <= 0) return false;
        p += got;
        n -= static_cast<std::size_t>(got);
    }
    return true;
}

// One ApiVersions v0 round trip on a fresh connection; false if nobody listens yet or the
// connection broke before an answer.
bool probe(const sockaddr_storage& addr, socklen_t len) {
    int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    bool ok = false;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), len) == 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        // size, api_key 18, api_version 0, correlation_id 1, client_id "perf"
        const unsigned char req[] = {0, 0, 0, 14, 0, 18, 0, 0, 0, 0, 0, 1, 0, 4, 'p', 'e', 'r', 'f'};
        char size_buf[4];
        if (::write(fd, req, sizeof req) == static_cast<ssize_t>(sizeof req) &&
            read_full(fd, size_buf, 4)) {
            std::uint32_t size = 0;
            for (char c : size_buf) size = (size << 8) | static_cast<std::uint8_t>(c);
            std::string body(std::min<std::uint32_t>(size, 1 << 20), '\0');
            ok = size >= 4 && read_full(fd, body.data(), body.size());
        }
    }
    ::close(fd);
    return ok;
}

double percentile(std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    auto idx = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(idx, v.size() - 1)];
}

}  // namespace

int run_startup(const startup_options& o) {
    socklen_t len = 0;
    const auto addr = resolve(o.broker, len);
    if (!o.until_exit && probe(addr, len))
        throw std::runtime_error("something already answers on " + o.broker +
                                 "; stop it or choose another --broker address");
    std::vector<char*> argv;
    for (const auto& a : o.command) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);

    std::vector<double> ready_ms, stop_ms;
    int stop_hangs = 0;
    for (int run = 0; run < o.runs && !interrupted.load(); ++run) {
        pid_t pid = 0;
        const double t0 = now_s();
        if (int e = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ); e != 0)
            throw std::runtime_error("cannot start " + o.command[0] + ": " + std::strerror(e));
        bool up = false;
        int status = 0;
        if (o.until_exit) {  // the floor: exec, dynamic linking, static init, exit
            while (now_s() - t0 < o.timeout_s && !(up = waitpid(pid, &status, WNOHANG) == pid))
                std::this_thread::sleep_for(std::chrono::microseconds(50));
            if (!up) {
                ::kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
                throw std::runtime_error(o.command[0] + " did not exit within " +
                                         fmt_double(o.timeout_s) + " s");
            }
            ready_ms.push_back((now_s() - t0) * 1000);
            continue;
        }
        while (now_s() - t0 < o.timeout_s && !interrupted.load()) {
            if (probe(addr, len)) {
                up = true;
                break;
            }
            if (waitpid(pid, &status, WNOHANG) == pid) {
                throw std::runtime_error(o.command[0] + " exited (status " +
                                         std::to_string(status) + ") before answering on " +
                                         o.broker);
            }
            // short pause: a busy loop would steal the CPU the broker needs to start
            std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
        const double t1 = now_s();
        ::kill(pid, SIGTERM);
        // A broker that does not exit on SIGTERM is a finding, not a reason to hang here.
        bool exited = false;
        while (!exited && now_s() - t1 < o.stop_timeout_s) {
            exited = waitpid(pid, &status, WNOHANG) == pid;
            if (!exited) std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        if (!exited) {
            ::kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            ++stop_hangs;
            fmt::print(stderr, "hako perf startup: run {}: no exit {} s after SIGTERM; killed\n",
                       run + 1, fmt_double(o.stop_timeout_s));
        }
        const double t2 = now_s();
        if (!up)
            throw std::runtime_error("no ApiVersions answer on " + o.broker + " within " +
                                     fmt_double(o.timeout_s) + " s");
        ready_ms.push_back((t1 - t0) * 1000);
        if (exited) stop_ms.push_back((t2 - t1) * 1000);
    }
    posix_spawn_file_actions_destroy(&fa);
    if (ready_ms.empty()) return 1;
    double med = percentile(ready_ms, 0.5), p90 = percentile(ready_ms, 0.9);
    double lo = percentile(ready_ms, 0), hi = percentile(ready_ms, 1);
    double stop_med = stop_ms.empty() ? -1 : percentile(stop_ms, 0.5);
    if (o.until_exit) {
        if (o.json)
            fmt::print("{{\"mode\":\"exec\",\"runs\":{},\"median_ms\":{:.3f},\"p90_ms\":{:.3f},"
                       "\"min_ms\":{:.3f},\"max_ms\":{:.3f}}}\n",
                       ready_ms.size(), med, p90, lo, hi);
        else
            fmt::print("exec -> exit: {} runs: median {:.2f} ms (p90 {:.2f}, min {:.2f}, max {:.2f})\n",
                       ready_ms.size(), med, p90, lo, hi);
        return 0;
    }
    if (o.json)
        fmt::print("{{\"mode\":\"startup\",\"runs\":{},\"median_ms\":{:.3f},\"p90_ms\":{:.3f},"
                   "\"min_ms\":{:.3f},\"max_ms\":{:.3f},\"stop_median_ms\":{:.3f},"
                   "\"stop_hangs\":{}}}\n",
                   ready_ms.size(), med, p90, lo, hi, stop_med, stop_hangs);
    else
        fmt::print("startup: {} runs: exec -> first ApiVersions answer median {:.2f} ms (p90 {:.2f}, "
                   "min {:.2f}, max {:.2f}); SIGTERM -> exit median {:.2f} ms{}\n",
                   ready_ms.size(), med, p90, lo, hi, stop_med,
                   stop_hangs ? fmt::format("; {} runs did not exit on SIGTERM", stop_hangs) : "");
    return 0;
}

}  // namespace hako::cli::perf
