"""Certificate math: pure functions of numpy and scipy, no estimator or kernel.

Each function cites the paper, theorem and equation it implements; the
derivations are the module docstrings: :mod:`skunlearn.accounting.pnsgd` for
the default bound, :mod:`skunlearn.accounting.floating_point` for what the
certificate owes to the machine's arithmetic.
"""

from .calibrate import CalibrationError, calibrate_noise, calibrate_steps
from .floating_point import (
    ARITHMETIC_MODEL,
    EXP_ERROR_ULPS,
    GRID_NOISE_BITS,
    NOISE_FLOOR_ULPS,
    clip_slack,
    failure_epsilon_cap,
    grid_failure_delta,
    grid_noise_failure_probability,
    kernel_noise_scale,
    logistic_step_rounding_error,
    minimum_step_noise,
    mlp_step_rounding_error,
    noise_grid,
)
from .langevin import published_langevin_rdp
from .pnsgd import (
    coupled_distance,
    cyclic_removal_distance,
    learning_rdp_coefficient,
    max_step_size,
    pabi_rdp_coefficient,
    per_row_shift,
    published_pnsgd_distance,
    published_pnsgd_rdp,
    removal_rdp_coefficient,
    single_removal_rdp_coefficient,
    step_contraction,
    unlearning_rdp_coefficient,
)
from .post_processing import (
    gaussian_hockey_stick,
    gradient_clipping_rdp_coefficient,
    gradient_clipping_rdp_coefficient_closed_form,
    model_clipping_deltas,
    model_clipping_steps,
    output_perturbation_noise,
)
from .renyi import (
    DEFAULT_ORDERS,
    DPConversion,
    OrderAtGridEdgeWarning,
    gaussian_rdp_coefficient,
    linear_rdp,
    rdp_to_dp,
)

__all__ = [
    "ARITHMETIC_MODEL",
    "CalibrationError",
    "DEFAULT_ORDERS",
    "DPConversion",
    "failure_epsilon_cap",
    "EXP_ERROR_ULPS",
    "OrderAtGridEdgeWarning",
    "calibrate_noise",
    "calibrate_steps",
    "clip_slack",
    "coupled_distance",
    "cyclic_removal_distance",
    "gaussian_hockey_stick",
    "gaussian_rdp_coefficient",
    "GRID_NOISE_BITS",
    "grid_failure_delta",
    "grid_noise_failure_probability",
    "gradient_clipping_rdp_coefficient",
    "gradient_clipping_rdp_coefficient_closed_form",
    "kernel_noise_scale",
    "learning_rdp_coefficient",
    "linear_rdp",
    "logistic_step_rounding_error",
    "max_step_size",
    "minimum_step_noise",
    "mlp_step_rounding_error",
    "model_clipping_deltas",
    "model_clipping_steps",
    "NOISE_FLOOR_ULPS",
    "noise_grid",
    "output_perturbation_noise",
    "pabi_rdp_coefficient",
    "per_row_shift",
    "published_langevin_rdp",
    "published_pnsgd_distance",
    "published_pnsgd_rdp",
    "rdp_to_dp",
    "removal_rdp_coefficient",
    "single_removal_rdp_coefficient",
    "step_contraction",
    "unlearning_rdp_coefficient",
]
