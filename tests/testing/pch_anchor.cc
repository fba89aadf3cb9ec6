// Compiles tests/testing/pch.h into the precompiled header the test suites reuse.
