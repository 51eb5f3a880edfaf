"""Measure the margin of the hidden check "larger batches give less noisy results".

For several valid ways to shuffle (each a correct ``minibatches``) and several course seeds
(course.yml's, and others an instructor might pick), print the spread of the final loss per
batch size and the ratio between successive spreads.  The check requires each ratio to exceed
``NOISE_MARGIN``; the smallest ratio printed here is the real margin.

    python benchmarks/measure_batch_noise.py
"""

from __future__ import annotations

import numpy as np

from autograder import reference
from autograder.config import load_course
from autograder.suites import minibatch
from autograder.suites.framework import COURSE_SEED


def _cut(order, batch_size):
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def _shuffled(n, rng):
    order = np.arange(n)
    rng.shuffle(order)
    return order


VALID_SHUFFLES = {
    "rng.permutation": lambda n, b, rng: _cut(rng.permutation(n), b),
    "rng.shuffle": lambda n, b, rng: _cut(_shuffled(n, rng), b),
    "rng.choice without replacement": lambda n, b, rng: _cut(rng.choice(n, n, replace=False), b),
    "argsort of rng.random": lambda n, b, rng: _cut(np.argsort(rng.random(n)), b),
    "np.split of a permutation": lambda n, b, rng: np.split(rng.permutation(n), range(b, n, b)),
}


def main() -> float:
    course_seed = load_course().assignment("03_minibatch").seed
    worst = np.inf
    original = reference.minibatches
    try:
        for seed in (course_seed, 0, 1, 2, 3):
            token = COURSE_SEED.set(seed)
            for name, shuffle in VALID_SHUFFLES.items():
                reference.minibatches = shuffle

                def run(grad, X, y, w0, lr, epochs, batch_size, rng, global_seed=0):
                    return reference.minibatch_gd(
                        grad, X, y, w0, lr, epochs, batch_size, np.random.default_rng(rng.seed)
                    )

                spreads = minibatch.batch_noise(run)
                ratios = [a / b for a, b in zip(spreads, spreads[1:])]
                worst = min(worst, *ratios)
                print(f"seed {seed:4d}  {name:32s} spreads {np.round(spreads, 7)}  ratios {np.round(ratios, 1)}")
            COURSE_SEED.reset(token)
    finally:
        reference.minibatches = original
    print(f"smallest ratio {worst:.1f}; the check requires > {minibatch.NOISE_MARGIN}")
    return worst


if __name__ == "__main__":
    main()
