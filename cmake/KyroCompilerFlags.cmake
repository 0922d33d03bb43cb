# Language level, warnings and sanitizer flavours. Presets pick the flavour with
# KYRODB_SANITIZE = "" | "address" (ASan+UBSan) | "thread".
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)

if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE Release CACHE STRING "Build type" FORCE)
endif()

set(KYRODB_SANITIZE "" CACHE STRING "Sanitizer flavour: empty, address or thread")

# Applied to our own targets only (not to the system headers we include).
# No -Wnull-dereference: GCC 12 emits it from Asio's inlined scheduler code
# after optimisation, where system-header suppression no longer applies.
# -Wno-restrict: at -O3 GCC 12 reports `"text" + std::to_string(n)` in
# libstdc++'s char_traits as overlapping memcpy (GCC bug 105329), which
# broke -Werror Release builds of the tests.
add_library(kyrodb_warnings INTERFACE)
target_compile_options(kyrodb_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
  -Wunused -Woverloaded-virtual -Wformat=2
  $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>
  $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>)
if(KYRODB_WERROR)
  target_compile_options(kyrodb_warnings INTERFACE -Werror)
endif()

if(KYRODB_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(KYRODB_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(NOT KYRODB_SANITIZE STREQUAL "")
  message(FATAL_ERROR "KYRODB_SANITIZE must be empty, 'address' or 'thread', not '${KYRODB_SANITIZE}'")
endif()
