"""The hidden suites, one module per assignment.  Never shipped to students."""

from . import gradient_descent, gradients, minibatch
from .framework import Registry

SUITES: dict[str, Registry] = {
    "01_gradients": gradients.suite,
    "02_gradient_descent": gradient_descent.suite,
    "03_minibatch": minibatch.suite,
}
