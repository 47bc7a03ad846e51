"""Every public function and method carries type hints that resolve at run time (PEP 561: the package ships py.typed).

Conventions (followed by every module listed below): ``from __future__ import annotations`` and PEP 604
unions (``int | None``); array inputs are ``numpy.typing.ArrayLike``, array outputs ``np.ndarray``; a
method that returns its estimator names the class (``-> NoisyLogisticRegression``) or, in a mixin, a
``TypeVar`` bound to it (``typing.Self`` needs Python 3.11); names used in annotations are imported for
real (not under ``TYPE_CHECKING``), so ``typing.get_type_hints`` resolves them.
"""

import importlib
import inspect
import typing

import pytest

# Public modules; UnlearningMixin's methods (skunlearn._unlearning) are checked on the estimators that inherit them.
MODULES = [
    "skunlearn.linear_model", "skunlearn.neural_network", "skunlearn.certificate", "skunlearn.audit",
    "skunlearn.pipeline", "skunlearn.predictor", "skunlearn.accounting.calibrate",
    "skunlearn.accounting.descent_to_delete", "skunlearn.accounting.floating_point", "skunlearn.accounting.langevin",
    "skunlearn.accounting.pnsgd", "skunlearn.accounting.post_processing", "skunlearn.accounting.renyi",
]


def _public_callables():
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj):
                if obj.__module__ != module_name:
                    continue
                for attribute in dir(obj):
                    if attribute.startswith("_") and attribute != "__init__":
                        continue
                    member = inspect.getattr_static(obj, attribute)
                    function = getattr(obj, attribute)
                    # Ours, not scikit-learn's (which also writes set_*_request methods onto our classes).
                    defined_here = getattr(function, "__module__", "").startswith("skunlearn")
                    if isinstance(member, property):
                        if member.fget.__module__.startswith("skunlearn"):
                            yield pytest.param(member.fget, id=f"{name}.{attribute}")
                    elif defined_here and (inspect.isfunction(function) or inspect.ismethod(function)):
                        yield pytest.param(function, id=f"{name}.{attribute}")
            elif inspect.isfunction(obj):
                yield pytest.param(obj, id=f"{module_name.rsplit('.', 1)[-1]}.{name}")


def _public_classes():
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) and obj.__module__ == module_name:
                yield pytest.param(obj, id=name)


@pytest.mark.parametrize("cls", list(_public_classes()))
def test_public_class_annotations_resolve(cls):
    """Field annotations (dataclasses, named tuples) name importable types, as the documentation and checkers need."""
    typing.get_type_hints(cls)


@pytest.mark.parametrize("function", list(_public_callables()))
def test_public_callables_are_annotated(function):
    hints = typing.get_type_hints(function)  # raises when an annotation does not resolve
    signature = inspect.signature(function)
    unannotated = [name for name, parameter in signature.parameters.items()
                   if name not in ("self", "cls") and parameter.annotation is inspect.Parameter.empty]
    assert not unannotated, f"parameters without a type hint: {unannotated}"
    assert "return" in hints, "no return type hint"
