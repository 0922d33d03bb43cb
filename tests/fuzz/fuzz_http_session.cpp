// fuzz_http_session: a connection's bytes through a real Session on a
// loopback TCP socket: reading ahead, pipelining, 100-continue, errors that
// close the connection, graceful close. fuzz_http_request covers what one
// parsed request gets; this covers the state machine around it, whose
// asynchronous lifetimes (handlers holding the session, replies posted from
// the store's thread) are where a use-after-free or a stuck connection
// would hide. The session runs on an I/O thread of its own, as in the
// server; the harness is the client.
//
// Input: flags u8 | the bytes the client sends, in up to three writes.
//   flags bits 0-3: as fuzz_http_request's bits 0, 2, 3 and 4 (auth,
//                   read-only store, failing write, tight limits);
//   bits 4-5: where the bytes are split (none, a third, a half, both);
//   bit 6: the client pauses 2 ms before closing its sending side (else it
//          closes it right after the bytes).
// Each input gets its own store (keys 0-7 preloaded), ServerState and
// connection.
//
// Invariants:
//  - once the client has sent its bytes and closed its sending side, the
//    session answers what it read and closes within 5 s, and is gone once
//    the client has closed (no session outlives its connection);
//  - what the server sends is a sequence of complete HTTP responses
//    (interim 100 Continue allowed), nothing after the one that says
//    Connection: close, and exactly one final answer per request it had to
//    answer (ExpectedAnswers: every complete request up to the first that
//    ends the connection, and an error answer for bytes that do not parse);
//  - ASan/UBSan find nothing (the fuzz build's sanitizers).
#include <boost/asio/buffer.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <prometheus/registry.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "fake_store.h"
#include "fuzz_http_util.h"
#include "fuzz_util.h"
#include "http/api.h"
#include "http/connections.h"
#include "http/deadlines.h"
#include "http/io_pool.h"
#include "http/session.h"
#include "log/log.h"

namespace {

namespace http = kyrodb::http;
namespace bhttp = http::bhttp;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr auto kPatience = std::chrono::seconds(5);

// The server side that lives for the whole run: one I/O thread with its
// io_context and deadline sweep, and a listening socket.
struct Server {
  Server()
      : deadlines(ioc, std::chrono::milliseconds(50)),
        acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    work.emplace(ioc.get_executor());
    deadlines.Start();
    thread = std::thread([this] { ioc.run(); });
  }
  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  http::Deadlines deadlines;
  tcp::acceptor acceptor;
  std::thread thread;
};

Server& TheServer() {
  static Server* server = new Server();  // never destroyed: its thread runs until exit
  return *server;
}

http::HttpOptions OptionsFor(uint8_t flags) {
  http::HttpOptions o = http::fuzz::Options((flags & 0x01) != 0, (flags & 0x08) != 0);
  if (flags & 0x08) o.max_pipelined = 2;
  return o;
}

// The final answers `bytes` must get, in order (true: a HEAD request): one
// per complete request, up to and including the first one that ends the
// connection (Connection: close, HTTP/1.0 without keep-alive, a subscribe),
// plus one error answer for bytes that fail to parse, after which the
// connection closes. A request cut short by the client's FIN gets none.
//
// `*maybe_last`: the last answer is that error, and may not come. Beast's
// parser does not always reach a verdict on malformed bytes that arrive in
// pieces: it looks for the end of the header before parsing the fields, and
// for some inputs (a lone CR before the end, say) it finds none when fed in
// pieces but reports the bad line when fed at once. The session then waits
// for the rest of the header until the client closes, and answers nothing.
// Either way it never reads a different request out of the same bytes.
std::vector<bool> ExpectedAnswers(std::string_view bytes, const http::HttpOptions& o, bool* maybe_last) {
  std::vector<bool> head;
  *maybe_last = false;
  while (!bytes.empty()) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(o.max_header_bytes));
    parser.body_limit(o.max_body_bytes);
    parser.eager(true);
    boost::beast::error_code ec;
    while (!parser.is_done() && !bytes.empty()) {
      size_t used = parser.put(asio::buffer(bytes.data(), bytes.size()), ec);
      bytes.remove_prefix(used);
      if (ec == bhttp::error::need_more) ec = {};
      if (ec || used == 0) break;
    }
    if (!parser.is_done()) {
      if (ec) {
        head.push_back(parser.is_header_done() && parser.get().method() == bhttp::verb::head);
        *maybe_last = !parser.is_header_done();
      }
      break;
    }
    const http::Request& req = parser.get();
    head.push_back(req.method() == bhttp::verb::head);
    if (!req.keep_alive() || http::ClassifyRequest(req).stream) break;
  }
  return head;
}

// Reads until the server closes or `deadline`; true if it closed.
bool ReadAll(tcp::socket& client, Clock::time_point deadline, std::string* out) {
  char buf[16384];
  for (;;) {
    boost::system::error_code ec;
    size_t n = client.read_some(asio::buffer(buf), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      if (Clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      continue;
    }
    if (ec) return true;  // eof or reset: the server closed
    out->append(buf, n);
  }
}

}  // namespace

// libFuzzer checks each input for leaks when its mallocs and frees do not
// match, with a full LeakSanitizer scan. Here they never match within one
// input (the I/O thread keeps Asio's recycled operations and the deadline
// list), so every input paid a scan (~90 % of the time). The check is off
// for this target; a leaked session still fails the Count() invariant, and
// ASan's leak check at exit still runs. libFuzzer reads its flags after
// this function, which may extend argv.
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  static std::vector<char*> args(*argv, *argv + *argc);
  static char no_leak_check[] = "-detect_leaks=0";
  args.insert(args.begin() + 1, no_leak_check);  // before any corpus paths
  args.push_back(nullptr);
  *argc = static_cast<int>(args.size()) - 1;
  *argv = args.data();
  kyrodb::log::Init("off");
  TheServer();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t flags = data[0];
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  Server& server = TheServer();

  http::testing::FakeStore store;
  store.writable = (flags & 0x02) == 0;
  if (flags & 0x04) store.next_write_status = kyrodb::Status::IOError("injected");
  for (uint64_t k = 0; k < 8; ++k) store.Preload(k, std::string(k, static_cast<char>('a' + k)));
  prometheus::Registry registry;
  auto state = std::make_shared<http::ServerState>(OptionsFor(flags), registry);
  state->run_blocking = [](std::function<void()> task) { task(); };
  state->store.store(&store);
  state->ready.store(true);
  auto connections = std::make_shared<http::Connections>(state->metrics.connections_active());

  // Connect, accept, hand the accepted socket to a Session on the I/O thread.
  asio::io_context client_ioc;
  tcp::socket client(client_ioc);
  client.connect(server.acceptor.local_endpoint());
  http::Socket accepted(server.ioc);
  server.acceptor.accept(accepted);
  std::make_shared<http::Session>(std::move(accepted), server.deadlines, state, connections)->Start();

  // Send, in up to three writes.
  const size_t third = bytes.size() / 3, half = bytes.size() / 2;
  std::vector<size_t> cuts;
  if (flags & 0x10) cuts.push_back(third);
  if (flags & 0x20) cuts.push_back(half);
  cuts.push_back(bytes.size());
  size_t from = 0;
  boost::system::error_code ec;
  for (size_t to : cuts) {
    if (to <= from) continue;
    asio::write(client, asio::buffer(bytes.data() + from, to - from), ec);
    if (ec) break;  // the server closed already (an error answer); what it sent is read below
    from = to;
  }
  client.non_blocking(true);
  std::string received;
  if (flags & 0x40) {
    // The client pauses first: the session has read what was sent and is
    // answering it, or waiting idle for more, when the FIN comes.
    ReadAll(client, Clock::now() + std::chrono::milliseconds(2), &received);
  }
  // The session answers what it read and then closes: after an error, a
  // Connection: close, or the client's FIN at the latest.
  client.shutdown(tcp::socket::shutdown_send, ec);
  const bool closed = ReadAll(client, Clock::now() + kPatience, &received);
  FUZZ_CHECK(closed, "the session did not close within %lld s of the client's FIN (%zu bytes answered)",
             static_cast<long long>(kPatience.count()), received.size());
  client.close(ec);
  const auto gone_by = Clock::now() + kPatience;
  while (connections->Count() != 0 && Clock::now() < gone_by) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  FUZZ_CHECK(connections->Count() == 0, "a session outlived its closed connection");

  // What came back: complete responses only, none after Connection: close.
  bool maybe_last = false;
  const std::vector<bool> head = ExpectedAnswers(bytes, state->options, &maybe_last);
  std::string_view rest = received;
  size_t finals = 0;
  bool closed_by_server = false;
  while (!rest.empty()) {
    FUZZ_CHECK(!closed_by_server, "%zu bytes after an answer that said Connection: close", rest.size());
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64u << 20);
    parser.eager(true);
    if (finals < head.size() && head[finals]) parser.skip(true);
    size_t used = parser.put(asio::buffer(rest.data(), rest.size()), ec);
    FUZZ_CHECK(!ec && parser.is_done(), "answer %zu does not parse: %s", finals, ec.message().c_str());
    rest.remove_prefix(used);
    const unsigned status = parser.get().result_int();
    if (status == 100) continue;
    FUZZ_CHECK(status >= 200 && status <= 599, "status %u", status);
    ++finals;
    closed_by_server = !parser.get().keep_alive();
  }
  FUZZ_CHECK(finals == head.size() || (maybe_last && finals + 1 == head.size()), "%zu answers where %zu were due",
             finals, head.size());
  return 0;
}
