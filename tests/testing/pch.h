// The headers every test suite parses, precompiled once per build (tests/CMakeLists.txt):
// GoogleTest, GoogleMock, the Abseil and standard headers most suites include, and
// nlohmann-json. Parsing them took most of each small suite's compile time (about 19 s a
// suite under AddressSanitizer). Only third-party and standard headers belong here:
// the engine's own change too often to be worth it.
#ifndef CANVASS_TESTS_TESTING_PCH_H_
#define CANVASS_TESTS_TESTING_PCH_H_

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

#endif  // CANVASS_TESTS_TESTING_PCH_H_
