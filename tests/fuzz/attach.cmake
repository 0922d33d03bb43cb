# Adds the fuzz targets to a build whose top-level CMakeLists.txt does not
# (yet) add tests/fuzz itself. scripts/fuzz.sh passes this file as
# CMAKE_PROJECT_INCLUDE, which runs right after project(), before any library
# exists; so it defers to the end of the top-level file. CMake allows no
# add_subdirectory() there, hence include(), which tests/fuzz/CMakeLists.txt
# is written to survive (paths from CMAKE_CURRENT_LIST_DIR). A no-op when the
# top-level file already added the directory.
function(_kyrodb_attach_fuzz)
  if(KYRODB_BUILD_FUZZ AND NOT TARGET fuzz_wal_record)
    include("${CMAKE_CURRENT_FUNCTION_LIST_DIR}/CMakeLists.txt")
  endif()
endfunction()
cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL _kyrodb_attach_fuzz)
