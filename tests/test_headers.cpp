// test_headers.cpp: gs_test_headers, the executable whose precompiled
// headers every test executable reuses (tests/CMakeLists.txt). It does
// nothing: it exists to be built with the tests' flags.
int main() { return 0; }
