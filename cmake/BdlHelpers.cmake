# Small helpers shared by every folder's CMakeLists.txt.

# GCC 12 reports false -Wrestrict positives on std::string concatenation
# (GCC bug 105329); clang has no such warning to silence.
set(BDL_WARNINGS -Wall -Wextra -Wno-unused-parameter $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>)

# bdl_component_enabled(folder out): true when BDL_COMPONENTS is "all" or
# names the folder.
function(bdl_component_enabled folder out)
  if(BDL_COMPONENTS STREQUAL "all" OR folder IN_LIST BDL_COMPONENTS)
    set(${out} TRUE PARENT_SCOPE)
  else()
    set(${out} FALSE PARENT_SCOPE)
  endif()
endfunction()

# bdl_library(name SOURCES ... DEPS ...): a static library with the project's
# include root and warnings.
function(bdl_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${CMAKE_SOURCE_DIR} ${CMAKE_SOURCE_DIR}/include)
  target_compile_options(${name} PRIVATE ${BDL_WARNINGS})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

# bdl_test(name SOURCES ... DEPS ...): a GoogleTest executable registered
# with ctest, one ctest entry per test case.
function(bdl_test name)
  if(NOT BDL_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${BDL_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest_main)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60
    PROPERTIES ENVIRONMENT "BDL_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endfunction()
