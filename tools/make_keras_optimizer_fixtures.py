#!/usr/bin/env python3
"""Generate Keras 3 reference fixtures for krust's optimizers and learning-rate schedules.

What it makes
-------------
``fixtures/keras/optimizers/optimizers.json``
    For each optimizer case (SGD, Adam, AdamW, RMSprop, Adagrad, Nadam and their
    momentum / nesterov / amsgrad / centered / clipnorm / global_clipnorm /
    clipvalue / weight_decay / schedule variants) it starts from the same two
    variables, of shapes (3, 2) and (2,), applies the same 5 gradients with
    ``optimizer.apply_gradients`` and records:

    * ``keras_class`` and ``keras_config``: the optimizer's class name and
      ``get_config()`` (a learning-rate schedule appears in its serialized form);
    * ``steps``: the variables after each of the 5 steps;
    * ``state``: the optimizer's own variables after the last step, named as krust
      names them (``adam/momentum/0``, ``nadam/u_product``, ...), and ``iterations``.

    Every case shares ``initial`` (the starting variables) and ``gradients``
    (``gradients[step][variable]``); a case with ``missing`` lists the
    ``[step, variable]`` pairs whose gradient is ``None`` (Keras then skips that
    variable for that step, but still counts the iteration).

``fixtures/keras/optimizers/schedules.json``
    For each learning-rate schedule case: ``keras_class``, ``keras_config``
    (``keras.optimizers.schedules.serialize``) and ``learning_rates``, the value at
    steps 0..40 (the optimizer evaluates its schedule at its iteration count, so step
    0 is the first update's rate).

All arrays are float32 values written as JSON numbers (each one round-trips
exactly to the float32 that Keras computed).

Versions and seed
-----------------
Made with Python 3.11.7, keras 3.15.1 on the TensorFlow 2.21.0 backend (run on the
CPU) and numpy 2.4.6; ``SEED = 0`` seeds ``numpy.random.default_rng``, which draws
the starting variables from N(0, 1) and the gradients from N(0, 1.5^2). The
output is deterministic: a rerun writes identical files.

Rerun with::

    CUDA_VISIBLE_DEVICES= /root/venv/bin/python tools/make_keras_optimizer_fixtures.py

CI never runs this script; the tests only read the committed JSON files.
"""

import json
import os
import re
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import optimizers  # noqa: E402
from keras.optimizers import schedules  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "fixtures", "keras", "optimizers")
SEED = 0
SHAPES = [(3, 2), (2,)]
STEPS = 5
SCHEDULE_STEPS = 41


def f32_list(array):
    """A float32 array as nested lists of Python floats (exact float32 values)."""
    return np.asarray(array, dtype=np.float32).astype(np.float64).tolist()


# Each case: (name, class, kwargs, missing [step, variable] gradients).
def optimizer_cases():
    exp = lambda: schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)  # noqa: E731
    return [
        ("sgd", optimizers.SGD, dict(learning_rate=0.1), []),
        ("sgd_momentum", optimizers.SGD, dict(learning_rate=0.1, momentum=0.9), []),
        (
            "sgd_nesterov",
            optimizers.SGD,
            dict(learning_rate=0.1, momentum=0.9, nesterov=True),
            [],
        ),
        (
            "sgd_weight_decay",
            optimizers.SGD,
            dict(learning_rate=0.1, momentum=0.5, weight_decay=0.1),
            [],
        ),
        ("sgd_clipvalue", optimizers.SGD, dict(learning_rate=0.1, clipvalue=0.5), []),
        (
            "sgd_cosine_warmup",
            optimizers.SGD,
            dict(
                learning_rate=schedules.CosineDecay(
                    0.0, decay_steps=4, warmup_target=0.2, warmup_steps=2
                ),
                momentum=0.9,
            ),
            [],
        ),
        ("adam", optimizers.Adam, dict(learning_rate=0.1), []),
        ("adam_defaults", optimizers.Adam, dict(), []),
        (
            "adam_amsgrad",
            optimizers.Adam,
            dict(learning_rate=0.1, beta_2=0.5, amsgrad=True),
            [],
        ),
        (
            "adam_custom",
            optimizers.Adam,
            dict(learning_rate=0.05, beta_1=0.8, beta_2=0.99, epsilon=1e-3),
            [],
        ),
        ("adam_clipnorm", optimizers.Adam, dict(learning_rate=0.1, clipnorm=1.0), []),
        (
            "adam_global_clipnorm",
            optimizers.Adam,
            dict(learning_rate=0.1, global_clipnorm=1.0),
            [],
        ),
        (
            "adam_weight_decay",
            optimizers.Adam,
            dict(learning_rate=0.1, weight_decay=0.05),
            [],
        ),
        (
            "adam_exponential_decay",
            optimizers.Adam,
            dict(learning_rate=exp()),
            [],
        ),
        (
            "adam_missing_gradient",
            optimizers.Adam,
            dict(learning_rate=0.1, global_clipnorm=2.0),
            [[1, 1], [2, 1], [3, 0]],
        ),
        ("adamw", optimizers.AdamW, dict(learning_rate=0.1), []),
        (
            "adamw_amsgrad",
            optimizers.AdamW,
            dict(learning_rate=0.1, weight_decay=0.1, beta_2=0.5, amsgrad=True),
            [],
        ),
        (
            "adamw_piecewise",
            optimizers.AdamW,
            dict(
                learning_rate=schedules.PiecewiseConstantDecay(
                    [1, 3], [0.1, 0.05, 0.01]
                ),
                weight_decay=0.2,
            ),
            [],
        ),
        ("rmsprop", optimizers.RMSprop, dict(learning_rate=0.01), []),
        (
            "rmsprop_momentum",
            optimizers.RMSprop,
            dict(learning_rate=0.01, momentum=0.9),
            [],
        ),
        (
            "rmsprop_centered",
            optimizers.RMSprop,
            dict(learning_rate=0.01, centered=True),
            [],
        ),
        (
            "rmsprop_centered_momentum",
            optimizers.RMSprop,
            dict(
                learning_rate=0.01,
                rho=0.8,
                momentum=0.5,
                epsilon=1e-3,
                centered=True,
                clipnorm=1.5,
            ),
            [],
        ),
        (
            "rmsprop_weight_decay",
            optimizers.RMSprop,
            dict(learning_rate=0.01, weight_decay=0.3),
            [],
        ),
        ("adagrad", optimizers.Adagrad, dict(learning_rate=0.1), []),
        (
            "adagrad_custom",
            optimizers.Adagrad,
            dict(
                learning_rate=0.1,
                initial_accumulator_value=0.5,
                epsilon=1e-3,
                clipvalue=0.3,
            ),
            [],
        ),
        (
            "adagrad_weight_decay",
            optimizers.Adagrad,
            dict(learning_rate=0.1, weight_decay=0.1, global_clipnorm=1.0),
            [],
        ),
        ("nadam", optimizers.Nadam, dict(learning_rate=0.1), []),
        (
            "nadam_custom",
            optimizers.Nadam,
            dict(
                learning_rate=0.05,
                beta_1=0.8,
                beta_2=0.99,
                weight_decay=0.05,
                global_clipnorm=2.0,
            ),
            [],
        ),
        (
            "nadam_clipnorm_missing_gradient",
            optimizers.Nadam,
            dict(learning_rate=0.1, clipnorm=1.0),
            [[0, 1], [2, 0]],
        ),
    ]


# Keras's optimizer variables, by attribute, under krust's state names.
SLOT_ATTRIBUTES = {
    "SGD": [("momentums", "momentum")],
    "Adam": [
        ("_momentums", "momentum"),
        ("_velocities", "velocity"),
        ("_velocity_hats", "velocity_hat"),
    ],
    "AdamW": [
        ("_momentums", "momentum"),
        ("_velocities", "velocity"),
        ("_velocity_hats", "velocity_hat"),
    ],
    "RMSprop": [
        ("_velocities", "velocity"),
        ("_momentums", "momentum"),
        ("_average_gradients", "average_gradient"),
    ],
    "Adagrad": [("_accumulators", "accumulator")],
    "Nadam": [("_momentums", "momentum"), ("_velocities", "velocity")],
}


def optimizer_state(opt):
    cls = type(opt).__name__
    prefix = cls.lower()
    state = {}
    for attribute, slot in SLOT_ATTRIBUTES[cls]:
        for index, variable in enumerate(getattr(opt, attribute, []) or []):
            state[f"{prefix}/{slot}/{index}"] = f32_list(variable.numpy())
    if cls == "Nadam":
        state["nadam/u_product"] = f32_list(opt._u_product.numpy())
    return state


def make_optimizer_fixtures(initial, gradients):
    cases = {}
    for name, cls, kwargs, missing in optimizer_cases():
        variables = [keras.Variable(v, dtype="float32") for v in initial]
        opt = cls(**kwargs)
        steps = []
        for step in range(STEPS):
            grads = [
                None if [step, i] in missing else tf.constant(gradients[step][i])
                for i in range(len(variables))
            ]
            opt.apply_gradients(zip(grads, variables))
            steps.append([f32_list(v.numpy()) for v in variables])
        config = opt.get_config()
        if isinstance(config["learning_rate"], float):
            # The optimizer's learning-rate variable is float32; keep that value.
            config["learning_rate"] = float(np.float32(config["learning_rate"]))
        cases[name] = {
            "keras_class": cls.__name__,
            "keras_config": config,
            "missing": missing,
            "steps": steps,
            "state": optimizer_state(opt),
            "iterations": int(opt.iterations.numpy()),
        }
    return cases


def schedule_cases():
    return [
        ("exponential", schedules.ExponentialDecay(0.1, 5, 0.5)),
        (
            "exponential_staircase",
            schedules.ExponentialDecay(0.1, 5, 0.5, staircase=True),
        ),
        (
            "piecewise_constant",
            schedules.PiecewiseConstantDecay([3, 7, 12], [1.0, 0.5, 0.1, 0.01]),
        ),
        ("polynomial", schedules.PolynomialDecay(0.1, 10, end_learning_rate=0.001, power=2.0)),
        (
            "polynomial_cycle",
            schedules.PolynomialDecay(0.1, 7, end_learning_rate=0.01, power=0.5, cycle=True),
        ),
        ("inverse_time", schedules.InverseTimeDecay(0.1, 4, 0.5)),
        (
            "inverse_time_staircase",
            schedules.InverseTimeDecay(0.1, 4, 0.5, staircase=True),
        ),
        ("cosine", schedules.CosineDecay(0.1, 20)),
        ("cosine_alpha", schedules.CosineDecay(0.1, 20, alpha=0.1)),
        (
            "cosine_warmup",
            schedules.CosineDecay(0.0, 20, warmup_target=0.1, warmup_steps=8),
        ),
        (
            "cosine_warmup_alpha",
            schedules.CosineDecay(0.01, 15, alpha=0.2, warmup_target=0.1, warmup_steps=5),
        ),
        ("cosine_restarts", schedules.CosineDecayRestarts(0.1, 4)),
        (
            "cosine_restarts_constant_period",
            schedules.CosineDecayRestarts(0.1, 5, t_mul=1.0, m_mul=0.5, alpha=0.1),
        ),
        (
            "cosine_restarts_t_mul_1_5",
            schedules.CosineDecayRestarts(0.1, 3, t_mul=1.5, m_mul=0.8),
        ),
    ]


def make_schedule_fixtures():
    cases = {}
    for name, schedule in schedule_cases():
        # The optimizer passes its int64 iteration variable.
        rates = [
            float(np.float32(schedule(tf.constant(step, dtype=tf.int64))))
            for step in range(SCHEDULE_STEPS)
        ]
        cases[name] = {
            "keras_class": type(schedule).__name__,
            "keras_config": schedules.serialize(schedule),
            "learning_rates": rates,
        }
    return cases


def write_json(path, payload):
    """Indented JSON whose innermost lists of numbers stay on one line (small, diffable)."""
    text = json.dumps(payload, indent=1, sort_keys=True)
    text = re.sub(
        r"\[\s*([-+0-9.eE]+(?:,\s*[-+0-9.eE]+)*)\s*\]",
        lambda m: "[" + ", ".join(m.group(1).replace(",", " ").split()) + "]",
        text,
    )
    with open(path, "w") as f:
        f.write(text + "\n")


def main():
    tf.config.set_visible_devices([], "GPU")
    rng = np.random.default_rng(SEED)
    initial = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    gradients = [
        [(1.5 * rng.standard_normal(s)).astype(np.float32) for s in SHAPES]
        for _ in range(STEPS)
    ]
    versions = {
        "python": sys.version.split()[0],
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "numpy": np.__version__,
        "backend": keras.backend.backend(),
    }
    os.makedirs(OUT_DIR, exist_ok=True)
    write_json(
        os.path.join(OUT_DIR, "optimizers.json"),
        {
            "generator": "tools/make_keras_optimizer_fixtures.py",
            "seed": SEED,
            "versions": versions,
            "initial": [f32_list(v) for v in initial],
            "gradients": [[f32_list(g) for g in step] for step in gradients],
            "cases": make_optimizer_fixtures(initial, gradients),
        },
    )
    write_json(
        os.path.join(OUT_DIR, "schedules.json"),
        {
            "generator": "tools/make_keras_optimizer_fixtures.py",
            "versions": versions,
            "steps": list(range(SCHEDULE_STEPS)),
            "cases": make_schedule_fixtures(),
        },
    )
    print(f"wrote {OUT_DIR}/optimizers.json and schedules.json with {versions}")


if __name__ == "__main__":
    main()
