#include "absl/status/statusor.h"
#include "gtest/gtest.h"
TEST(Toolchain, StatusOr) {
  absl::StatusOr<int> v = 3;
  EXPECT_EQ(*v, 3);
}
