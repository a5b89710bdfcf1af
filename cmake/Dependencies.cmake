# Every third-party package comes from Debian (see setup.sh); these are the
# imported targets the folders link against.
find_package(Threads REQUIRED)
find_package(fmt REQUIRED CONFIG)
find_package(ZLIB REQUIRED)
find_package(CLI11 REQUIRED CONFIG)
find_package(nlohmann_json REQUIRED CONFIG)
find_package(GTest REQUIRED CONFIG)

# ANTLR: the Debian config exports antlr4_shared without its include dir.
find_package(antlr4-runtime 4.9 REQUIRED CONFIG)
find_program(ANTLR4_TOOL antlr4 REQUIRED)
add_library(bdl_antlr4 INTERFACE)
target_link_libraries(bdl_antlr4 INTERFACE antlr4_shared)
target_include_directories(bdl_antlr4 SYSTEM INTERFACE ${ANTLR4_INCLUDE_DIR})

# Boost.Asio is header-only; Boost 1.74's awaitable.hpp needs <utility>
# included first under GCC 12 in C++20 mode.
find_package(Boost 1.74 REQUIRED)
add_library(bdl_asio INTERFACE)
target_link_libraries(bdl_asio INTERFACE Boost::headers Threads::Threads)
target_compile_options(bdl_asio INTERFACE -include utility)
target_compile_definitions(bdl_asio INTERFACE BOOST_ASIO_NO_DEPRECATED)

# LLVM 19 wants major.minor in find_package; link the shared library.
find_package(LLVM 19.1 CONFIG)
if(LLVM_FOUND)
  add_library(bdl_llvm INTERFACE)
  target_include_directories(bdl_llvm SYSTEM INTERFACE ${LLVM_INCLUDE_DIRS})
  target_compile_definitions(bdl_llvm INTERFACE ${LLVM_DEFINITIONS})
  target_link_libraries(bdl_llvm INTERFACE LLVM)
endif()

find_package(dnnl 2.6 CONFIG)
