# Version, commit and compiler baked into /build_info. The commit is read at
# configure time; a tree that is not a git checkout reports "unknown".
find_package(Git QUIET)
set(KYRODB_GIT_COMMIT "unknown")
if(GIT_FOUND AND EXISTS "${CMAKE_SOURCE_DIR}/.git")
  execute_process(COMMAND "${GIT_EXECUTABLE}" rev-parse --short=12 HEAD
                  WORKING_DIRECTORY "${CMAKE_SOURCE_DIR}"
                  OUTPUT_VARIABLE _kyro_commit OUTPUT_STRIP_TRAILING_WHITESPACE
                  ERROR_QUIET RESULT_VARIABLE _kyro_git_rc)
  if(_kyro_git_rc EQUAL 0 AND _kyro_commit)
    set(KYRODB_GIT_COMMIT "${_kyro_commit}")
  endif()
endif()
set(KYRODB_COMPILER "${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION}")
configure_file("${CMAKE_SOURCE_DIR}/src/util/build_info.h.in"
               "${CMAKE_BINARY_DIR}/generated/kyrodb/build_info.h" @ONLY)
