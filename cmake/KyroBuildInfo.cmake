# Version, commit and compiler baked into /build_info. The commit is read at
# configure time, which every move of HEAD triggers again; a tree that is not
# a git checkout reports "unknown".
find_package(Git QUIET)
set(KYRODB_GIT_COMMIT "unknown")
if(GIT_FOUND AND EXISTS "${CMAKE_SOURCE_DIR}/.git")
  execute_process(COMMAND "${GIT_EXECUTABLE}" rev-parse --short=12 HEAD
                  WORKING_DIRECTORY "${CMAKE_SOURCE_DIR}"
                  OUTPUT_VARIABLE _kyro_commit OUTPUT_STRIP_TRAILING_WHITESPACE
                  ERROR_QUIET RESULT_VARIABLE _kyro_git_rc)
  if(_kyro_git_rc EQUAL 0 AND _kyro_commit)
    set(KYRODB_GIT_COMMIT "${_kyro_commit}")
    # Configure again whenever HEAD moves (commit, checkout, reset: each
    # appends to HEAD's reflog), so an incremental build never reports the
    # commit the build directory was first configured at.
    execute_process(COMMAND "${GIT_EXECUTABLE}" rev-parse --absolute-git-dir
                    WORKING_DIRECTORY "${CMAKE_SOURCE_DIR}"
                    OUTPUT_VARIABLE _kyro_git_dir OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    foreach(_kyro_head IN ITEMS "${_kyro_git_dir}/logs/HEAD" "${_kyro_git_dir}/HEAD")
      if(_kyro_git_dir AND EXISTS "${_kyro_head}")
        set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_kyro_head}")
      endif()
    endforeach()
  endif()
endif()
set(KYRODB_COMPILER "${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION}")
configure_file("${CMAKE_SOURCE_DIR}/src/util/build_info.h.in"
               "${CMAKE_BINARY_DIR}/generated/kyrodb/build_info.h" @ONLY)
