"""Every public function and method carries type hints that resolve at run time (PEP 561: the package ships py.typed)."""

import importlib
import inspect
import typing

import pytest

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
                    if defined_here and (inspect.isfunction(function) or inspect.ismethod(function)) \
                            and not isinstance(member, property):
                        yield pytest.param(function, id=f"{name}.{attribute}")
            elif inspect.isfunction(obj):
                yield pytest.param(obj, id=f"{module_name.rsplit('.', 1)[-1]}.{name}")


@pytest.mark.parametrize("function", list(_public_callables()))
def test_public_callables_are_annotated(function):
    hints = typing.get_type_hints(function)  # raises when an annotation does not resolve
    signature = inspect.signature(function)
    unannotated = [name for name, parameter in signature.parameters.items()
                   if name not in ("self", "cls") and parameter.annotation is inspect.Parameter.empty]
    assert not unannotated, f"parameters without a type hint: {unannotated}"
    assert "return" in hints, "no return type hint"
