// moto_server for the unit tests (s3_test_server.h).
#include "s3_test_server.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>
#include <thread>

namespace hako::testing {

namespace {

int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

bool answers(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

struct server {
    pid_t pid = -1;
    std::string endpoint, why;
    server() {
        if (const char* e = std::getenv("HAKO_TEST_S3_ENDPOINT")) {
            endpoint = e;  // an already running server (make unit passes its own)
            return;
        }
        if (std::system("command -v moto_server >/dev/null 2>&1") != 0) {
            why = "moto_server not on PATH (pip install 'moto[server]')";
            return;
        }
        int port = free_port();
        std::fflush(nullptr);  // or the child repeats what is buffered
        pid = ::fork();
        if (pid == 0) {
            ::setpgid(0, 0);
            std::freopen("/dev/null", "w", stdout);
            std::freopen("/dev/null", "w", stderr);
            auto p = std::to_string(port);
            ::execlp("moto_server", "moto_server", "-H", "127.0.0.1", "-p", p.c_str(), nullptr);
            ::_exit(127);
        }
        for (int i = 0; i < 300 && !answers(port); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (!answers(port)) {
            why = "moto_server did not start";
            return;
        }
        endpoint = "http://127.0.0.1:" + std::to_string(port);
    }
    ~server() {
        if (pid > 0) {
            ::kill(-pid, SIGTERM);
            ::waitpid(pid, nullptr, 0);
        }
    }
};

}  // namespace

std::string s3_test_endpoint(std::string* why) {
    static server s;
    if (s.endpoint.empty()) {
        if (why) *why = s.why;
        return {};
    }
    ::setenv("AWS_ENDPOINT_URL", s.endpoint.c_str(), 1);
    ::setenv("AWS_ALLOW_HTTP", "true", 1);
    ::setenv("AWS_ACCESS_KEY_ID", "hako-test", 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", "hako-test", 1);
    ::setenv("AWS_REGION", "us-east-1", 1);
    return s.endpoint;
}

}  // namespace hako::testing
