#include "bench/engine/zipf.h"

#include <cmath>

namespace shmkv {
namespace bench {

ZipfParams::ZipfParams(uint64_t n, double theta) : n_(n) {
  double zetan = 0;
  for (uint64_t i = 1; i <= n; ++i) zetan += 1.0 / std::pow(static_cast<double>(i), theta);
  const double zeta2 = 1.0 + std::pow(0.5, theta);
  zetan_ = zetan;
  alpha_ = 1.0 / (1.0 - theta);
  eta_ = (1.0 - std::pow(2.0 / static_cast<double>(n), 1.0 - theta)) / (1.0 - zeta2 / zetan);
  half_pow_ = zeta2;
}

uint64_t ZipfParams::Draw(double u) const {
  const double uz = u * zetan_;
  if (uz < 1.0) return 0;
  if (uz < half_pow_) return n_ > 1 ? 1 : 0;
  const auto r =
      static_cast<uint64_t>(static_cast<double>(n_) * std::pow(eta_ * u - eta_ + 1.0, alpha_));
  return r < n_ ? r : n_ - 1;
}

}  // namespace bench
}  // namespace shmkv
