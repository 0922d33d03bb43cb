// Route handlers: plain functions from a request to a response. A handler
// that must wait (a durable write, a checkpoint) takes args.reply(), returns
// nullopt and calls the reply later instead. Internal to src/http.
#pragma once

#include <optional>
#include <string_view>

#include "http/api.h"
#include "http/json_body.h"
#include "http/url.h"

namespace kyrodb::http {

struct HandlerArgs {
  ServerState& state;
  kyrodb::Store* store;  // non-null for /v1 routes
  Request& req;
  std::string_view param;  // raw {key} segment
  const QueryParams& query;
  ReplyFactory& replies;
  // Non-null when the caller can send a stored value as it lies (the
  // session; not the unit tests): a handler answering with a value's bytes
  // moves the value here and leaves the body empty instead of copying it.
  ValueRef* pinned_body = nullptr;

  // Each call makes a new callback; a handler takes one at most.
  Reply reply() { return replies.MakeReply(); }
  StreamReply stream_reply() { return replies.MakeStreamReply(); }  // may be empty (unit tests)
};

using Handler = std::optional<Response> (*)(HandlerArgs& args);

// A response body from a stored value: moved to args.pinned_body when the
// caller takes one, else copied into res.body().
void SetValueBody(HandlerArgs& args, ValueRef&& value, Response* res);

// handlers_data.cpp
std::optional<Response> HandlePut(HandlerArgs& args);
std::optional<Response> HandleGetFast(HandlerArgs& args);
std::optional<Response> HandleLookup(HandlerArgs& args);
std::optional<Response> HandleKv(HandlerArgs& args);
std::optional<Response> HandleBatchPut(HandlerArgs& args);
std::optional<Response> HandleBatchGet(HandlerArgs& args);
std::optional<Response> HandleScan(HandlerArgs& args);

// handlers_changes.cpp
std::optional<Response> HandleSubscribe(HandlerArgs& args);
std::optional<Response> HandleReplay(HandlerArgs& args);

// handlers_admin.cpp
std::optional<Response> HandleOffset(HandlerArgs& args);
std::optional<Response> HandleSnapshot(HandlerArgs& args);
std::optional<Response> HandleRmiBuild(HandlerArgs& args);
std::optional<Response> HandleCompact(HandlerArgs& args);
std::optional<Response> HandleWarmup(HandlerArgs& args);
std::optional<Response> HandleStats(HandlerArgs& args);

// handlers_open.cpp
std::optional<Response> HandleHealth(HandlerArgs& args);
std::optional<Response> HandleReady(HandlerArgs& args);
std::optional<Response> HandleMetrics(HandlerArgs& args);
std::optional<Response> HandleBuildInfo(HandlerArgs& args);

// Shared by the handlers: a 400 for a bad key (counted as a rejected input),
// and the status of a refused body.
Response InvalidKeyResponse(ServerState& state, const std::string& message);
Response BodyErrorResponse(ServerState& state, const DecodeError& error);

}  // namespace kyrodb::http
