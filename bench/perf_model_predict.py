#!/usr/bin/env python3
"""The predictions of doc/performance.md ("The model"), recomputed.

    python3 bench/perf_model_predict.py [--tx-ns=120] [--stripes=64] [--seed=1]

Prints, for 1 to 64 cores, the throughput the model gives for W7 (zipf 0.99
over 1M keys, gets only) and W2 (uniform, 95% gets) on the locked and the
optimistic read path. The inputs are the document's; change them here.
"""
import argparse
import random

KEYS = 1_000_000
THETA = 0.99
T1_W7, H0_W7 = 350e-9, 110e-9  # one core alone: an operation, a stripe hold
T1_W2, H0_W2 = 450e-9, 280e-9
LOCK_NS = 25e-9  # uncontended lock, unlock and the lock's stores


def zipf_stripe_shares(stripes, seed):
    """Share of the operations each stripe gets, keys placed at random."""
    weights = [(k + 1) ** -THETA for k in range(KEYS)]
    total = sum(weights)
    rng = random.Random(seed)
    shares = [0.0] * stripes
    for w in weights:
        shares[rng.randrange(stripes)] += w / total
    return shares


def locked(n, t1, k, k_hold, tx, h0, shares):
    """ops/s of n cores, and how busy the hottest stripe is (M/D/1 waits)."""
    q = (n - 1) / n
    hold = h0 + k_hold * q * tx
    cap = 1 / (max(shares) * hold)

    def wait(x):
        return sum(p * (x * p * hold) * hold / (2 * (1 - x * p * hold)) for p in shares)

    lo, hi = 0.0, cap * (1 - 1e-9)
    for _ in range(200):
        mid = (lo + hi) / 2
        if n / (t1 + k * q * tx + wait(mid)) > mid:
            lo = mid
        else:
            hi = mid
    return lo, lo * max(shares) * hold


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tx-ns", type=float, default=120, help="one line transfer, ns")
    parser.add_argument("--stripes", type=int, default=64, help="lock stripes")
    parser.add_argument("--seed", type=int, default=1, help="placement of keys on stripes")
    args = parser.parse_args()
    if args.tx_ns <= 0 or args.stripes < 1:
        parser.error("--tx-ns must be positive and --stripes at least 1")
    tx = args.tx_ns * 1e-9
    zipf = zipf_stripe_shares(args.stripes, args.seed)
    uniform = [1 / args.stripes] * args.stripes
    print(f"hottest stripe {max(zipf):.4f} of W7's operations, sum of squares "
          f"{sum(p * p for p in zipf):.5f}; t_x {args.tx_ns:g} ns")
    print(f"{'cores':>5} {'W7 locked':>16} {'W7 optim.':>10} {'W7 opt+ctr':>11} "
          f"{'W2 locked':>16} {'W2 optim.':>10}")
    for n in (1, 2, 4, 8, 16, 32, 64):
        w7, busy7 = locked(n, T1_W7, 2, 1, tx, H0_W7, zipf)
        w7_counter, _ = locked(n, T1_W7 - LOCK_NS, 1, 1, tx, 1e-9, zipf)
        w2, busy2 = locked(n, T1_W2, 0.5, 0.5, tx, H0_W2, uniform)
        w7_opt = n / (T1_W7 - LOCK_NS)
        w2_opt = n / (T1_W2 - LOCK_NS + (n - 1) / n * tx / 2)
        print(f"{n:>5} {w7 / 1e6:8.1f}M ({busy7:4.0%}) {w7_opt / 1e6:9.1f}M "
              f"{w7_counter / 1e6:10.1f}M {w2 / 1e6:8.1f}M ({busy2:4.0%}) {w2_opt / 1e6:9.1f}M")


if __name__ == "__main__":
    main()
