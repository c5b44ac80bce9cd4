#include <iostream>
#include "absl/strings/str_cat.h"
int main() { std::cout << absl::StrCat("toolchain ok ", 42) << "\n"; }
