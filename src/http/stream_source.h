// StreamSource: the body of a response that is produced over time (the
// Server-Sent Events of GET /v1/subscribe). The StreamWriter that owns the
// connection pulls bytes from it only when the socket has taken the previous
// ones, so a client that reads slowly slows nobody but its own source, and
// a source that falls too far behind can say so (Failed) and be cut off.
//
// Threading: Start, Poll and Stop run on the writer's strand; `wake` and
// Failed may be called from any thread.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace kyrodb::http {

class StreamSource {
 public:
  enum class PollResult {
    kData,  // write *out, then poll again
    kWait,  // nothing now: wake() follows when there is
    kEnd,   // *out holds the final bytes (maybe none); close after them
  };

  virtual ~StreamSource() = default;

  // Before the first Poll. `wake` may be called from any thread, any number
  // of times (also after Stop): "poll me again".
  virtual void Start(std::function<void()> wake) = 0;
  // Appends the next bytes to `*out`.
  virtual PollResult Poll(std::string* out) = 0;
  // True once the source must end whatever the socket does (a subscriber cut
  // off for being slow): a write stuck on a client that does not read is then
  // abandoned after a short grace instead of KYRODB's write timeout.
  virtual bool Failed() const = 0;
  // The bytes of a last event telling the client why the stream ends early
  // (shutdown); the writer closes after them.
  virtual std::string Farewell(std::string_view code, std::string_view message) = 0;
  // The connection is closing: release what the source holds (the store's
  // subscription) now rather than when the last reference goes.
  virtual void Stop() = 0;
};

}  // namespace kyrodb::http
