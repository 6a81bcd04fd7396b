#pragma once
// A moto_server of its own for tests that need a real S3-compatible server (started once
// per test binary, killed at exit). Tests skip with a clear message when it is missing.
#include <string>

namespace hako::testing {

// The endpoint ("http://127.0.0.1:PORT"), or "" with `why` filled when moto_server is
// not available. Sets the AWS_* environment for s3::config_from_env.
std::string s3_test_endpoint(std::string* why);

}  // namespace hako::testing
