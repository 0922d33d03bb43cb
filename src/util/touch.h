// Touch: a load whose value is dropped, to start a cache miss early.
//
// For a caller that knows which line it will read soon and has independent
// work to do first (Snapshot::TouchEntry). Unlike __builtin_prefetch it is a
// real load: it cannot be dropped by the CPU, and it is not free (once the
// reorder buffer fills, later instructions wait for it), so use it only where
// the line is read a few hundred instructions later. `p` must be readable.
#pragma once

namespace kyrodb {

inline void Touch(const void* p) {
  // The empty asm takes the loaded byte as an input, so the compiler must
  // perform the load but emits nothing else.
  asm volatile("" : : "r"(*static_cast<const volatile char*>(p)));
}

}  // namespace kyrodb
