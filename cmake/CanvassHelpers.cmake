# Small helpers in the manner of Abseil's absl_cc_library / absl_cc_test, so that each
# CMakeLists.txt reads as a dependency list.

# canvass_cc_library(NAME n SRCS a.cc HDRS a.h DEPS x y)
# Defines target canvass_<n> with alias canvass::<n>.
function(canvass_cc_library)
  cmake_parse_arguments(CC "" "NAME" "SRCS;HDRS;DEPS" ${ARGN})
  set(_target canvass_${CC_NAME})
  if(CC_SRCS)
    add_library(${_target} STATIC ${CC_SRCS} ${CC_HDRS})
    target_include_directories(${_target} PUBLIC ${PROJECT_SOURCE_DIR})
    target_link_libraries(${_target} PUBLIC ${CC_DEPS})
  else()
    add_library(${_target} INTERFACE)
    target_include_directories(${_target} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${_target} INTERFACE ${CC_DEPS})
  endif()
  add_library(canvass::${CC_NAME} ALIAS ${_target})
endfunction()

# canvass_cc_test(NAME n SRCS a_test.cc DEPS x y [LABELS l])
# Defines test binary canvass_<n> and registers its cases with ctest.
function(canvass_cc_test)
  cmake_parse_arguments(CC "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  set(_target canvass_${CC_NAME})
  add_executable(${_target} ${CC_SRCS})
  target_link_libraries(${_target} PRIVATE ${CC_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  # The suites' shared precompiled header (tests/CMakeLists.txt).
  if(TARGET canvass_test_pch)
    target_precompile_headers(${_target} REUSE_FROM canvass_test_pch)
    target_link_libraries(${_target} PRIVATE nlohmann_json::nlohmann_json)
  endif()
  gtest_discover_tests(${_target} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${CC_LABELS}")
endfunction()
