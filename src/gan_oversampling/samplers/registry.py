"""Every method a study can name: one line each, and their combinations.

A new method is one module that defines a `Method` (see `samplers.base`) and one line
here. The study spec, the runner and the report read this registry; none of them knows a
method by name.

A method that resamples (an oversampler, undersampling) can be combined with one that
changes how the classifier learns (class weights, a tuned threshold, an ensemble):
`cgan+threshold` is the CGAN's folds fitted with a tuned decision threshold. The
combination is the resampler's kind, seeds and settings, with the other's classifier hook.
"""

from __future__ import annotations

from dataclasses import replace

from gan_oversampling.errors import UserError
from gan_oversampling.samplers import cgan, ctgan, tab_ddpm, wgan_gp
from gan_oversampling.samplers.alternatives import ALTERNATIVE_METHODS
from gan_oversampling.samplers.base import Method
from gan_oversampling.samplers.classic import CLASSIC_METHODS, NONE
from gan_oversampling.samplers.variants import VARIANT_METHODS

METHODS: dict[str, Method] = {
    method.name: method
    for method in (NONE, *CLASSIC_METHODS, *VARIANT_METHODS, cgan.METHOD, ctgan.METHOD,
                   wgan_gp.METHOD, tab_ddpm.METHOD, *ALTERNATIVE_METHODS)
}
BASELINE = NONE.name
COMBINE = "+"  # `<resampling method>+<classifier method>`


def method_names() -> list[str]:
    return list(METHODS)


def get_method(name: str) -> Method:
    """The registry entry of `name`, or the combination it names; UserError otherwise."""
    if name in METHODS:
        return METHODS[name]
    if COMBINE in name:
        return _combination(name)
    raise UserError(f"unknown method {name!r}; known: {', '.join(METHODS)}")


def _combination(name: str) -> Method:
    parts = name.split(COMBINE)
    unknown = [part for part in parts if part not in METHODS]
    if len(parts) != 2 or unknown:
        raise UserError(f"unknown method {name!r}: a combination is <resampling method>"
                        f"{COMBINE}<{' or '.join(learner_names())}>, e.g. cgan{COMBINE}threshold")
    sampler, learner = (METHODS[part] for part in parts)
    if sampler.adapt_classifier is not None or not sampler.resamples:
        raise UserError(f"method {name!r}: the first part must resample the training folds "
                        f"(an oversampler or random-under), not {sampler.name!r}")
    if learner.adapt_classifier is None:
        raise UserError(f"method {name!r}: the second part must change how the classifier "
                        f"learns ({', '.join(learner_names())}), not {learner.name!r}")
    return replace(
        sampler,
        name=name,
        summary=f"{sampler.summary}; then {learner.summary}",
        adapt_classifier=learner.adapt_classifier,
        adapter=learner.adapter,
        check_classifier=learner.check_classifier,
        check_available=_both(sampler, learner),
        resampler=sampler.name,
    )


def _both(first: Method, second: Method):
    def check_available() -> None:
        first.check_available()
        second.check_available()

    return check_available


def learner_names() -> list[str]:
    """Methods that change how the classifier learns (the second part of a combination)."""
    return [name for name, method in METHODS.items() if method.adapt_classifier is not None]


def method_kind(name: str) -> str | None:
    """'baseline', 'classic', 'generative' or 'alternative'; None for a name this version
    does not know (a results database may hold methods of another version)."""
    try:
        return get_method(name).kind
    except UserError:
        return None


def settings_sections() -> dict[str, type]:
    """Method name -> its settings model: the tables a study file may hold."""
    return {name: m.settings_model for name, m in METHODS.items() if m.settings_model}


def names_of_kind(kind: str) -> list[str]:
    return [name for name, method in METHODS.items() if method.kind == kind]


CGAN = cgan.METHOD.name
