r"""The table of backends: what each solves, whether it is installed, and how the common options map to it.

One row per backend module. ``solve`` (the front door) looks a backend up here, translates the
options every solver shares (``tol``, ``max_iter``) into the backend's own keywords with
:data:`OPTION_TABLE`, checks ``solver_options`` against what the backend accepts, and never lets an
option silently vanish: a common option a backend cannot honour, or an unknown one, is an error
naming the backend and what it accepts.

=========  ======================  ==========================================  ===================
backend    problems                ``tol`` is                                  ``max_iter`` is
=========  ======================  ==========================================  ===================
exact      kernel                  SMO's maximal-violating-pair gap (libsvm)   SMO steps per SVM solve
dcd        linear (dense, CSR)     KKT tolerance of the exact working-set step  epochs per DCD solve
osqp       linear, kernel          OSQP's ``eps_abs`` and ``eps_rel``          OSQP's ``max_iter``
cvxpy      linear, kernel          CLARABEL's ``tol_gap_abs/rel``, ``tol_feas``  CLARABEL's ``max_iter``
=========  ======================  ==========================================  ===================
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any, Callable

from ..exceptions import FairermValueError, SolverNotInstalledError

__all__ = ["Backend", "BACKENDS", "OPTION_TABLE", "backend", "translate_options", "tighter"]


@dataclass(frozen=True)
class Backend:
    """A backend: a module with ``solve_linear`` and/or ``solve_kernel`` (problem -> BackendResult).

    Attributes
    ----------
    name : str
    module : str
        Import path of the module.
    kinds : tuple of str
        ``"linear"`` and/or ``"kernel"``.
    requires : tuple of str
        Packages it imports (checked by :meth:`available`).
    extra_options : frozenset of str or None
        The backend's own keywords a user may pass in ``solver_options``; ``None``: any (the
        backend's package validates them and refuses unknown ones).
    default_tol : float
        The backend's tolerance when ``tol`` is not given (what refinement tightens).
    describe : str
    """

    name: str
    module: str
    kinds: tuple[str, ...]
    requires: tuple[str, ...]
    extra_options: frozenset | None
    default_tol: float
    describe: str

    def available(self) -> bool:
        return all(_installed(package) for package in self.requires)

    def entry(self, kind: str) -> Callable[..., Any]:
        """The module's ``solve_<kind>`` function (imported on first use)."""
        if not self.available():
            missing = [p for p in self.requires if importlib.util.find_spec(p) is None]
            raise SolverNotInstalledError(f"solver={self.name!r} needs {', '.join(missing)}: pip install "
                                          f"{' '.join(missing)}")
        return getattr(importlib.import_module(self.module), f"solve_{kind}")


_FOUND: set[str] = set()


def _installed(package: str) -> bool:
    """Whether ``package`` can be imported; a package once found is not looked up again (the search of the
    import path took 0.6 ms per fit, measured on a 20-fit epsilon path)."""
    if package not in _FOUND and importlib.util.find_spec(package) is not None:
        _FOUND.add(package)
    return package in _FOUND


BACKENDS: dict[str, Backend] = {
    "exact": Backend("exact", "fairerm.solvers.kernel_smo", ("kernel",), ("numba",),
                     frozenset({"cache_size", "shrinking", "rank_rtol", "verbose"}), 1e-3,
                     "SMO on the projected kernel (eps = 0) or the fairness active set; kernel rows on demand"),
    "dcd": Backend("dcd", "fairerm.solvers.linear_dcd", ("linear",), ("numba",),
                   frozenset({"inner_tol", "inner_gap_tol", "intercept_tol", "max_solves", "shrinking",
                              "random_state", "rank_rtol"}), 1e-7,
                   "dual coordinate descent and an exact interior-point working-set step (dense or CSR rows)"),
    "osqp": Backend("osqp", "fairerm.solvers.osqp_", ("linear", "kernel"), ("osqp",), None, 1e-7,
                    "the primal handed to OSQP (ADMM; kernel: on the empirical kernel map)"),
    "cvxpy": Backend("cvxpy", "fairerm.solvers.cvxpy_", ("linear", "kernel"), ("cvxpy",), None, 1e-8,
                     "the problem written plainly in cvxpy (primal for linear, dual for kernel), CLARABEL"),
}

#: ``tol`` and ``max_iter`` in each backend's own words (see the module docstring).
OPTION_TABLE: dict[str, dict[str, tuple[str, ...]]] = {
    "exact": {"tol": ("tol",), "max_iter": ("max_iter",)},
    "dcd": {"tol": ("kkt_tol",), "max_iter": ("max_epochs",)},
    "osqp": {"tol": ("eps_abs", "eps_rel"), "max_iter": ("max_iter",)},
    "cvxpy": {"tol": ("tol_gap_abs", "tol_gap_rel", "tol_feas"), "max_iter": ("max_iter",)},
}

def backend(name: str) -> Backend:
    try:
        return BACKENDS[name]
    except KeyError:
        raise FairermValueError(f"solver must be one of {['auto', *BACKENDS]}; got {name!r}.") from None


def translate_options(name: str, tol: float | None, max_iter: int | None, options: dict | None) -> dict:
    """The keyword arguments of backend ``name`` for the common ``tol``/``max_iter`` and ``options``.

    Raises
    ------
    FairermValueError
        An option the backend does not accept, an option given twice (common and in ``options``),
        or ``tol``/``max_iter`` for a cvxpy solver other than CLARABEL (whose option names differ:
        pass them in ``solver_options`` under that solver's own names).
    """
    spec = BACKENDS[name]
    options = dict(options or {})
    if spec.extra_options is not None:
        unknown = sorted(set(options) - spec.extra_options)
        if unknown:
            raise FairermValueError(
                f"solver_options {unknown} are not options of solver={name!r}; it accepts "
                f"{sorted(spec.extra_options)} (tol and max_iter are set by the estimator's own parameters)."
            )
    common = {"tol": tol, "max_iter": max_iter}
    if name == "cvxpy" and options.get("cvxpy_solver", "CLARABEL") != "CLARABEL":
        given = [key for key, value in common.items() if value is not None]
        if given:
            raise FairermValueError(
                f"{given} map to CLARABEL's options, but solver_options asks for cvxpy_solver="
                f"{options['cvxpy_solver']!r}; pass that solver's own tolerance and iteration options in "
                "solver_options instead."
            )
    for key, value in common.items():
        if value is None:
            continue
        for keyword in OPTION_TABLE[name][key]:
            if keyword in options:
                raise FairermValueError(f"solver_options[{keyword!r}] and {key}={value!r} set the same option of "
                                        f"solver={name!r}; give it once.")
            options[keyword] = int(value) if key == "max_iter" else float(value)
    return options


def tighter(name: str, options: dict, factor: float = 10.0) -> dict:
    """``options`` with the backend's tolerance divided by ``factor`` (for a refinement)."""
    options = dict(options)
    for keyword in OPTION_TABLE[name]["tol"]:
        options[keyword] = float(options.get(keyword, BACKENDS[name].default_tol)) / factor
    return options
