# Small helpers in the manner of Abseil's absl_cc_library / absl_cc_test, so that each
# CMakeLists.txt reads as a dependency list.

# canvass_cc_library(NAME n SRCS a.cc HDRS a.h DEPS x y [NO_INSTALL])
# Defines target canvass_<n> with alias canvass::<n>.
# Every such library but a NO_INSTALL one (the tests' helpers) is installed (lib/,
# exported as canvass::<n> in CanvassTargets) with its public headers: those of HDRS not
# under an internal/ folder and not named in
# CANVASS_PRIVATE_HEADERS (headers only the library's own sources include), under
# include/canvass/engine/..., so that an installed program includes them as the engine
# does ("engine/base/status_macros.h").
function(canvass_cc_library)
  cmake_parse_arguments(CC "NO_INSTALL" "NAME" "SRCS;HDRS;DEPS" ${ARGN})
  set(_target canvass_${CC_NAME})
  set(_includes $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}> $<INSTALL_INTERFACE:include/canvass>)
  if(CC_SRCS)
    add_library(${_target} STATIC ${CC_SRCS} ${CC_HDRS})
    target_include_directories(${_target} PUBLIC ${_includes})
    target_link_libraries(${_target} PUBLIC ${CC_DEPS})
  else()
    add_library(${_target} INTERFACE)
    target_include_directories(${_target} INTERFACE ${_includes})
    target_link_libraries(${_target} INTERFACE ${CC_DEPS})
  endif()
  add_library(canvass::${CC_NAME} ALIAS ${_target})
  if(CC_NO_INSTALL)
    return()
  endif()
  set_target_properties(${_target} PROPERTIES EXPORT_NAME ${CC_NAME})
  install(TARGETS ${_target} EXPORT CanvassTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          COMPONENT development)
  foreach(_header IN LISTS CC_HDRS)
    if(_header MATCHES "(^|/)internal/" OR _header IN_LIST CANVASS_PRIVATE_HEADERS)
      continue()
    endif()
    get_filename_component(_dir ${_header} DIRECTORY)
    file(RELATIVE_PATH _from_root ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/${_dir})
    install(FILES ${_header} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/canvass/${_from_root}
            COMPONENT development)
  endforeach()
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
