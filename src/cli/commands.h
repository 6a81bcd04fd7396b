#pragma once
// One subcommand per file; main.cc wires them into CLI11.

#include <CLI/CLI.hpp>
#include <functional>

namespace hako::cli {

// Each registers its subcommand and returns the function to run once parsing succeeded.
std::function<int()> add_broker_command(CLI::App& app);
std::function<int()> add_topic_command(CLI::App& app);
std::function<int()> add_perf_command(CLI::App& app);

}  // namespace hako::cli
