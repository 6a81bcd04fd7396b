// Loopback TCP baselines for the benchmark harness (bench/run.sh), independent of hako:
//   tcp_baseline stream SECONDS   one sender thread, one receiver thread, 256 KiB writes
//   tcp_baseline pingpong SECONDS [same|cross]
//                                 100-byte request, 100-byte answer, one at a time; with
//                                 both threads pinned to CPU 0, or to CPUs 0 and 1 (in a VM
//                                 a wake-up across cores can cost tens of microseconds)
// Prints one JSON line. Built by bench/run.sh with the system compiler; not part of hako.
#include <arpa/inet.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <algorithm>
#include <vector>

static double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

static void die(const char* what) {
    std::perror(what);
    std::exit(1);
}

static void pin(int cpu) {
    if (cpu < 0) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static bool read_full(int fd, char* p, size_t n) {
    while (n > 0) {
        ssize_t got = read(fd, p, n);
        if (got <= 0) return false;
        p += got;
        n -= static_cast<size_t>(got);
    }
    return true;
}

int main(int argc, char** argv) {
    if (argc != 3 && argc != 4) {
        std::fprintf(stderr, "usage: tcp_baseline stream|pingpong SECONDS [same|cross]\n");
        return 2;
    }
    const bool stream = std::strcmp(argv[1], "stream") == 0;
    const char* placement = argc == 4 ? argv[3] : "any";
    int client_cpu = -1, server_cpu = -1;
    if (std::strcmp(placement, "same") == 0) client_cpu = server_cpu = 0;
    if (std::strcmp(placement, "cross") == 0) client_cpu = 0, server_cpu = 1;
    const double seconds = std::atof(argv[2]);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), len) || listen(lfd, 1)) die("listen");
    getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
    int one = 1;

    std::thread server([&] {
        pin(server_cpu);
        int fd = accept(lfd, nullptr, nullptr);
        if (fd < 0) die("accept");
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        std::vector<char> buf(1 << 18);
        if (stream) {
            while (read(fd, buf.data(), buf.size()) > 0) {
            }
        } else {
            while (read_full(fd, buf.data(), 100))
                if (write(fd, buf.data(), 100) != 100) break;
        }
        close(fd);
    });

    pin(client_cpu);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), len)) die("connect");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::vector<char> buf(1 << 18, 'x');
    const double start = now();
    double end = start;
    long long bytes = 0, trips = 0;
    std::vector<double> rtt;
    while ((end = now()) - start < seconds) {
        if (stream) {
            ssize_t n = write(fd, buf.data(), buf.size());
            if (n <= 0) die("write");
            bytes += n;
        } else {
            double t = now();
            if (write(fd, buf.data(), 100) != 100 || !read_full(fd, buf.data(), 100)) die("pingpong");
            rtt.push_back(now() - t);
            ++trips;
        }
    }
    shutdown(fd, SHUT_WR);
    server.join();
    close(fd);
    const double secs = end - start;
    if (stream) {
        std::printf("{\"mode\":\"stream\",\"bytes\":%lld,\"seconds\":%.4f,\"mb_per_s\":%.1f}\n",
                    bytes, secs, static_cast<double>(bytes) / secs / 1e6);
    } else {
        std::sort(rtt.begin(), rtt.end());
        auto pct = [&](double q) { return rtt[static_cast<size_t>(q * (rtt.size() - 1))] * 1e3; };
        std::printf("{\"mode\":\"pingpong\",\"placement\":\"%s\",\"round_trips\":%lld,"
                    "\"seconds\":%.4f,\"round_trips_per_s\":%.0f,\"p50_ms\":%.4f,"
                    "\"p99_ms\":%.4f}\n",
                    placement, trips, secs, static_cast<double>(trips) / secs, pct(0.5),
                    pct(0.99));
    }
    return 0;
}
