#pragma once
// Request and response headers (wire notes §4). Which header version applies depends on
// whether the API version is flexible, which only the api table knows, so parsing takes
// that as an argument instead of looking it up here.

#include <cstdint>
#include <optional>
#include <string>

#include "protocol/wire.h"

namespace hako::protocol {

struct request_header {
    std::int16_t api_key = 0;
    std::int16_t api_version = 0;
    std::int32_t correlation_id = 0;
    std::optional<std::string> client_id;
    std::vector<tagged_field> tagged_fields;

    // Reads header v1 (flexible == false) or v2 (flexible == true). client_id keeps its
    // int16 length even in v2.
    void decode(reader& r, bool flexible);
    void encode(writer& w, bool flexible) const;
};

// Reads only api key, version and correlation id: enough to answer or reject a request
// whose API we do not know.
struct request_prefix {
    std::int16_t api_key;
    std::int16_t api_version;
    std::int32_t correlation_id;
};
request_prefix peek_request_prefix(std::string_view frame);

// Response header v0 is the correlation id; v1 adds an empty tagged-field section.
void write_response_header(writer& w, std::int32_t correlation_id, bool flexible);

}  // namespace hako::protocol
