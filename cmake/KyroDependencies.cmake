# Every dependency comes from a Debian 12 -dev package (scripts/install_deps.sh).
# Nothing is downloaded at configure time and nothing is vendored.
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED)              # header-only: Asio, Beast, CRC
find_package(nlohmann_json 3.11 REQUIRED)
find_package(prometheus-cpp REQUIRED COMPONENTS core)  # Debian 12: 1.0.1, no version file
find_package(spdlog 1.10 REQUIRED)
# Debian's xsimd package config links a target named xtl: find it first.
find_package(xtl REQUIRED)
find_package(xsimd 8 REQUIRED)

if(KYRODB_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(KYRODB_BUILD_BENCH)
  find_package(benchmark REQUIRED)
  find_package(absl REQUIRED)
endif()
