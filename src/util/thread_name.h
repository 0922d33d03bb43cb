// Names the calling thread, so `top -H`, `ps -L`, perf and gdb tell the WAL
// writer from the I/O threads. Linux keeps 15 characters; longer names are
// cut. Best effort: a failure changes nothing else.
#pragma once

#include <pthread.h>

#include <string>
#include <string_view>
#include <thread>

namespace kyrodb {

inline void SetThreadName(std::string_view name) {
  std::string n(name.substr(0, 15));
  (void)pthread_setname_np(pthread_self(), n.c_str());
}

// Names `thread` from its creator, so the name is set when this returns
// (a thread naming itself may not have run yet).
inline void SetThreadName(std::thread& thread, std::string_view name) {
  std::string n(name.substr(0, 15));
  (void)pthread_setname_np(thread.native_handle(), n.c_str());
}

}  // namespace kyrodb
