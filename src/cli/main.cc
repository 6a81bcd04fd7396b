// hako: a Kafka-compatible broker with stateless brokers over durable storage.
#include <cstdio>
#include <iostream>

#include "cli/commands.h"

int main(int argc, char** argv) {
    CLI::App app{"hako " HAKO_VERSION
                 " - a Kafka-compatible broker whose brokers keep no state: data lives in "
                 "the storage engine (memory://, later sqlite://, postgres://, s3://).\n"
                 "Every flag has an environment-variable twin, shown as (Env:NAME)."};
    app.set_version_flag("--version", std::string("hako ") + HAKO_VERSION);
    app.require_subcommand(0, 1);
    auto run_broker = hako::cli::add_broker_command(app);
    auto run_topic = hako::cli::add_topic_command(app);
    auto run_perf = hako::cli::add_perf_command(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    try {
        if (app.got_subcommand("topic")) return run_topic();
        if (app.got_subcommand("perf")) return run_perf();
        // `hako` with no subcommand is `hako broker`
        return run_broker();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hako: %s\n", e.what());
        return 1;
    }
}
