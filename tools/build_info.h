// What `canvass --version` reports about the build: written at build time by
// cmake/BuildInfo.cmake (the git revision, "-modified" when the tree had changes).
#ifndef CANVASS_TOOLS_BUILD_INFO_H_
#define CANVASS_TOOLS_BUILD_INFO_H_

namespace canvass {

extern const char kBuildInfoVersion[];   // the project's version, e.g. "0.1.0"
extern const char kBuildInfoRevision[];  // git revision, or "unknown" outside a checkout
extern const char kBuildInfoType[];      // CMAKE_BUILD_TYPE
extern const char kBuildInfoCompiler[];  // compiler id and version
extern const char kBuildInfoFlags[];     // the options that change the code generated

}  // namespace canvass

#endif  // CANVASS_TOOLS_BUILD_INFO_H_
