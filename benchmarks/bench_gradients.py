"""Generated gradients against hand-written NumPy (and JAX / PyTorch where installed).

    python benchmarks/bench_gradients.py [--repeat 30]

Prints the median time per call of each implementation and its ratio to hand-written NumPy
(< 1 is faster). Machines are noisy: read ratios, not absolute times, and rerun before concluding.
"""
from __future__ import annotations

import argparse
import statistics
import timeit

import numpy as np

import matcalc

rng = np.random.default_rng(0)


def sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -z))


def seed_000():
    n, m = 512, 256
    inputs = dict(W=rng.standard_normal((n, m)) / 16, x=rng.standard_normal(m), y=rng.uniform(size=n))

    def hand(W, x, y):
        s = sigmoid(W @ x)
        return np.outer((s - y) * s * (1 - s), x)
    def loss(jnp, W, x, y):
        s = 1 / (1 + jnp.exp(-(W @ x)))
        return 0.5 * jnp.sum((s - y) ** 2)
    return "seed 000  ∂E/∂W, W 512×256", "E = ½‖σ(Wx)−y‖²", "W", inputs, hand, loss


def least_squares():
    N, D = 2000, 400
    inputs = dict(Φ=rng.standard_normal((N, D)), θ=rng.standard_normal(D), y=rng.standard_normal(N))

    def hand(Φ, θ, y):
        return -2 * (Φ.T @ (y - Φ @ θ))
    def loss(jnp, Φ, θ, y):
        return jnp.sum((y - Φ @ θ) ** 2)
    return "least squares ∂L/∂θ, Φ 2000×400", "L = ‖y − Φθ‖²", "θ", inputs, hand, loss


def network():
    h, d, k = 256, 128, 64
    inputs = dict(A0=rng.standard_normal((h, d)) / 12, x=rng.standard_normal(d), b0=rng.standard_normal(h),
                  A1=rng.standard_normal((k, h)) / 16, b1=rng.standard_normal(k), y=rng.uniform(size=k))

    def hand(A0, x, b0, A1, b1, y):
        f1 = sigmoid(A0 @ x + b0)
        f2 = sigmoid(A1 @ f1 + b1)
        d2 = (f2 - y) * f2 * (1 - f2)
        d1 = (A1.T @ d2) * f1 * (1 - f1)
        return {"A0": np.outer(d1, x), "b0": d1, "A1": np.outer(d2, f1), "b1": d2}
    def loss(jnp, A0, x, b0, A1, b1, y):
        f1 = 1 / (1 + jnp.exp(-(A0 @ x + b0)))
        f2 = 1 / (1 + jnp.exp(-(A1 @ f1 + b1)))
        return 0.5 * jnp.sum((f2 - y) ** 2)
    return ("two-layer network, 4 gradients", "f1 = σ(A0 x + b0); f2 = σ(A1 f1 + b1); E = ½‖f2 − y‖²",
            ["A0", "b0", "A1", "b1"], inputs, hand, loss)


def softmax_cross_entropy():
    k, d = 1000, 256
    y = np.zeros(k)
    y[3] = 1.0
    inputs = dict(W=rng.standard_normal((k, d)) / 16, x=rng.standard_normal(d), y=y)

    def hand(W, x, y):
        z = W @ x
        p = np.exp(z - z.max())
        p /= p.sum()
        return np.outer(p - y, x)
    def loss(jnp, W, x, y):
        z = W @ x
        return -jnp.sum(y * (z - jnp.max(z) - jnp.log(jnp.sum(jnp.exp(z - jnp.max(z))))))
    return ("softmax cross-entropy ∂L/∂W, W 1000×256",
            "y in OneHot(k); L = −sum(y ∘ log(softmax(W x)))", "W", inputs, hand, loss)


def median_seconds(function, inputs, repeat: int) -> float:
    number = 20
    times = timeit.repeat(lambda: function(**inputs), number=number, repeat=repeat)
    return statistics.median(times) / number


def jax_gradient(loss, wrt, inputs):
    """jax.grad of the same loss written in jax.numpy, jitted; None when JAX is not installed."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    names = [wrt] if isinstance(wrt, str) else wrt
    grad = jax.jit(jax.grad(lambda *a: loss(jnp, *a), argnums=[list(inputs).index(n) for n in names]))
    args = [jnp.asarray(v) for v in inputs.values()]
    jax.block_until_ready(grad(*args))   # compile outside the timing
    return lambda **_: jax.block_until_ready(grad(*args))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    print(f"{'problem':42} {'impl':12} {'median':>10} {'ratio':>7}")
    for make in (seed_000, least_squares, network, softmax_cross_entropy):
        title, source, wrt, inputs, hand, loss = make()
        generated = matcalc.derive(source, wrt).compile()
        np.testing.assert_allclose(_flat(generated(**inputs)), _flat(hand(**inputs)), rtol=1e-8, atol=1e-10)
        baseline = median_seconds(hand, inputs, args.repeat)
        rows = [("hand NumPy", baseline), ("matcalc", median_seconds(generated, inputs, args.repeat))]
        jax_grad = jax_gradient(loss, wrt, inputs)
        if jax_grad is not None:
            rows.append(("jax.grad+jit", median_seconds(jax_grad, inputs, args.repeat)))
        for impl, seconds in rows:
            print(f"{title:42} {impl:12} {seconds * 1e6:8.1f}µs {seconds / baseline:7.2f}")


def _flat(result):
    if isinstance(result, dict):
        return np.concatenate([np.ravel(result[k]) for k in sorted(result)])
    return np.ravel(result)


if __name__ == "__main__":
    main()
