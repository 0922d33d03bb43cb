// The bytes before a response's body: status line and header fields.
//
// Why not Beast's serializer: for a small answer its buffers_cat variant
// visits were a visible share of a GET (docs/BENCHMARKS.md, "Profile"), and
// the fields every answer carries (Server, Content-Type, Content-Length,
// Connection) had to be inserted into the message first, one allocation
// each. Here they are written straight into a buffer the connection reuses,
// and the body goes out beside it in the same gather write.
#pragma once

#include <string>

#include "http/types.h"

namespace kyrodb::http {

// Appends to `out` the head of `res` as sent to a client speaking HTTP
// `version` (10 or 11):
// - the status line, with res.reason() (Beast's standard reason unless the
//   handler set one);
// - every field of `res`, except the framing ones this function owns:
//   Content-Length, Transfer-Encoding, Connection, Server;
// - Server: kyrodb;
// - Content-Type: application/json when `res` has none;
// - Content-Length: `content_length`, except for 1xx, 204 and 304, which
//   have no body;
// - Connection: close when an HTTP/1.1 answer is the last on its
//   connection, keep-alive when an HTTP/1.0 one is not.
// Field values come from handlers, which never put CR or LF in them.
void AppendResponseHead(const Response& res, unsigned version, bool keep_alive, size_t content_length,
                        std::string* out);

}  // namespace kyrodb::http
