// client_test_support.h: the fixture of the real-client tests.
#pragma once

#include <curl/curl.h>
#include <gtest/gtest.h>

#include "client_support.h"
#include "greenscope/runtime.h"
#include "test_support.h"

namespace gs::clients {

// ClientTest is RuntimeTest (no greenlet may outlive the test) with libcurl
// initialised; it makes sure patch_all() starts off and ends off. Each test
// runs in its own process anyway (gtest_discover_tests).
class ClientTest : public gs::test::RuntimeTest {
 protected:
  void SetUp() override {
    RuntimeTest::SetUp();
    ASSERT_FALSE(gs::patched()) << "patch_all() leaked in from somewhere";
    ASSERT_EQ(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
  }
  void TearDown() override {
    gs::unpatch_all();
    curl_global_cleanup();
    RuntimeTest::TearDown();
  }
};

}  // namespace gs::clients
