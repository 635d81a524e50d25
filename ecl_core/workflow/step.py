"""The ``Step`` interface, the context a step runs in, and the registry of step types."""

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from ecl_core.errors import ConfigError, FieldError, ValidationError
from ecl_core.llm.base import Provider
from ecl_core.references import import_class
from ecl_core.steps.base import StepResult
from ecl_core.types import StepMetadata

if TYPE_CHECKING:
    from ecl_core.review.book import ReviewDesk

__all__ = [
    "LLM_RETRY_POLICY",
    "MAX_STEP_MAX_TOKENS",
    "ArtifactStore",
    "DirectoryArtifacts",
    "LLMStepSettings",
    "NoSettings",
    "Step",
    "StepContext",
    "StepRegistry",
    "StepRetryPolicy",
    "validated",
]

DEFAULT_MAX_TOKENS = 1024
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
InT = TypeVar("InT", bound=BaseModel)
OutT = TypeVar("OutT", bound=BaseModel)


class StepRetryPolicy(BaseModel):
    """How often a step is retried after a transient failure, and how long it waits."""

    max_attempts: int = Field(3, ge=1, le=10, description="Attempts in all, the first included.")
    initial_delay_s: float = Field(1.0, ge=0, description="Wait before the first retry, in s.")
    max_delay_s: float = Field(30.0, ge=0, description="Longest wait between attempts, in s.")
    multiplier: float = Field(2.0, ge=1, description="Factor applied to the wait each retry.")


MAX_STEP_MAX_TOKENS = 128_000
"""The most output tokens a step may ask for (the largest output of a current Claude model;
``LLM_SETTING_RANGES["max_tokens"]`` in ``ecl_core.bounds``)."""


class NoSettings(BaseModel):
    """The ``config`` of a built-in step that takes none: any key is refused."""

    model_config = ConfigDict(extra="forbid")


class LLMStepSettings(NoSettings):
    """The ``config`` of a built-in LLM step (checked when the workflow file loads)."""

    max_tokens: int = Field(DEFAULT_MAX_TOKENS, ge=1, le=MAX_STEP_MAX_TOKENS,
                            description="The bound on generated tokens per call.")


LLM_RETRY_POLICY = StepRetryPolicy(
    max_attempts=3, initial_delay_s=30.0, max_delay_s=60.0, multiplier=2.0
)
"""For steps that call the LLM: retries for what outlasts the in-call retries (an open
circuit breaker, an outage). The first wait is the breaker's default reset timeout, 30 s."""


class ArtifactStore(Protocol):
    """Where a step keeps files a person may want to read (a rendered prompt, a report)."""

    def put(self, name: str, content: str) -> str:
        """Store ``content`` as ``name``; return where it went."""
        ...


@dataclass(frozen=True)
class DirectoryArtifacts:
    """Artifacts as files in one folder per step."""

    root: Path

    def put(self, name: str, content: str) -> str:
        """Write ``<root>/<name>`` (UTF-8) and return its path."""
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        return str(path)


@dataclass(frozen=True)
class StepContext:
    """What a step gets besides its input.

    Attributes:
        provider: The LLM provider (already guarded by retries, breaker and journal).
        run_id: The run executing the step.
        step_id: The step's id in the workflow (with its iteration, inside a loop).
        attempt: 1 on the first attempt.
        log: A structlog logger bound to the run and step.
        artifacts: Where to keep files for a person.
        config: The step's ``config`` from the workflow definition.
        calls: Steps that call the LLM append each ``StepResult.metadata`` here; the engine
            reports them (calls, tokens, latency) with the step's output.
        reviews: Where a step that waits for a person (``awaits_answer``) asks; the engine
            gives one to such steps only.
    """

    provider: Provider
    run_id: str
    step_id: str
    attempt: int
    log: Any
    artifacts: ArtifactStore
    config: Mapping[str, Any] = field(default_factory=dict)
    calls: list[StepMetadata] = field(default_factory=list)
    reviews: "ReviewDesk | None" = None

    @property
    def max_tokens(self) -> int:
        """``config["max_tokens"]``, else 1,024: the bound on generated tokens per call.

        Raises:
            ValidationError: It is not a whole number from 1 to 128,000 (a step of your own
                whose ``config_model`` does not bound it).
        """
        value = self.config.get("max_tokens", DEFAULT_MAX_TOKENS)
        if isinstance(value, bool) or not isinstance(value, int) or not (
                1 <= value <= MAX_STEP_MAX_TOKENS):
            raise ValidationError(f"step '{self.step_id}': invalid config", [FieldError(
                "config.max_tokens", f"is {value!r}; it must be a whole number from 1 to "
                f"{MAX_STEP_MAX_TOKENS:,}")])
        return value

    def record(self, result: StepResult[T]) -> T:
        """Keep ``result``'s metadata in ``calls`` and return its output."""
        self.calls.append(result.metadata)
        return result.output


def validated(model: type[M], data: Any, where: str, message: str) -> M:
    """``model.model_validate(data)``, with pydantic's errors as one ECL ValidationError.

    Raises:
        ValidationError: ``message``, with a detail per broken field named ``<where>.<field>``
            (just ``<field>`` when ``where`` is empty).
    """
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as err:
        prefix = [where] if where else []
        details = [
            FieldError(".".join([*prefix, *(str(p) for p in e["loc"])]) or "input", e["msg"])
            for e in err.errors()
        ]
        raise ValidationError(message, details) from None


class Step(ABC, Generic[InT, OutT]):
    """One kind of step: typed input and output, validation hooks, retries, a revision limit.

    Subclasses set ``type_name`` (the name workflow files use), ``name``, ``input_model``
    and ``output_model``, and implement ``execute``. A step's input is built from the
    workflow input (for a step with no dependency) or from its dependencies' outputs; see
    ``ecl_core.workflow.definition``.
    """

    type_name: ClassVar[str]
    name: ClassVar[str]
    input_model: ClassVar[type[BaseModel]]
    output_model: ClassVar[type[BaseModel]]
    retry_policy: ClassVar[StepRetryPolicy] = StepRetryPolicy()
    revision_limit: ClassVar[int | None] = None
    """For revisable steps: the most revisions a workflow may ask of it."""
    uses_llm: ClassVar[bool] = True
    """Whether the step calls the LLM (an engine limits such steps' concurrency)."""
    awaits_answer: ClassVar[bool] = False
    """Whether the step may stop for a person's answer (``ReviewPending``): the engine then
    gives it ``StepContext.reviews`` and ends the run without its output until answered."""
    config_model: ClassVar[type[BaseModel] | None] = None
    """The model a workflow file's ``config`` for this step must fit, checked on load."""

    def describe(self, output: OutT) -> dict[str, Any]:
        """What a person should see of ``output`` beside the stored value (plain values)."""
        return {}

    def validate_input(self, data: Mapping[str, Any]) -> InT:
        """Build the typed input from ``data``.

        Raises:
            ValidationError: A field is missing or wrong; details name ``input.<field>``.
        """
        return self._validated(self.input_model, data, "input")  # type: ignore[return-value]

    def validate_output(self, output: Any) -> OutT:
        """Check the step's result against ``output_model``.

        Raises:
            ValidationError: The result does not match; details name ``output.<field>``.
        """
        data = output.model_dump() if isinstance(output, BaseModel) else output
        return self._validated(self.output_model, data, "output")  # type: ignore[return-value]

    def _validated(self, model: type[BaseModel], data: Any, where: str) -> BaseModel:
        return validated(model, data, where, f"step type '{self.type_name}': invalid {where}")

    @abstractmethod
    def execute(self, context: StepContext, step_input: InT) -> OutT:
        """Do the step's work."""

    def run(self, context: StepContext, data: Mapping[str, Any]) -> OutT:
        """Validate the input, execute, validate the output."""
        return self.validate_output(self.execute(context, self.validate_input(data)))


class StepRegistry:
    """Maps step type names (as workflow files write them) to ``Step`` classes."""

    def __init__(self, steps: Iterable[type[Step[Any, Any]]] = ()) -> None:
        self._types: dict[str, type[Step[Any, Any]]] = {}
        for step in steps:
            self.register(step)

    def register(self, step: type[Step[Any, Any]]) -> type[Step[Any, Any]]:
        """Add a step type; usable as a class decorator.

        Raises:
            ConfigError: Another step already has that type name.
        """
        if step.type_name in self._types:
            raise ConfigError(f"step type '{step.type_name}' is registered twice")
        self._types[step.type_name] = step
        return step

    def get(self, type_name: str) -> type[Step[Any, Any]]:
        """The step class for ``type_name``: a registered name, or ``module:Class``.

        A ``module:Class`` reference names a ``Step`` subclass, so a workflow's own step
        types need no registration.

        Raises:
            ConfigError: No step type has that name, or the reference does not import a Step.
        """
        if type_name in self._types:
            return self._types[type_name]
        if ":" in type_name:
            return import_class(type_name, Step, "step type")  # type: ignore[type-abstract]
        raise ConfigError(f"unknown step type '{type_name}' (known: {', '.join(self.names())})")

    def __contains__(self, type_name: object) -> bool:
        if not isinstance(type_name, str):
            return False
        try:
            self.get(type_name)
        except ConfigError:
            return False
        return True

    def names(self) -> list[str]:
        """Registered type names, sorted."""
        return sorted(self._types)
