"""The provider protocol every LLM backend implements."""

from typing import Protocol, runtime_checkable

from ecl_core.types import CompletionRequest, CompletionResponse

__all__ = ["Provider"]


@runtime_checkable
class Provider(Protocol):
    """Something that answers a ``CompletionRequest``.

    Attributes:
        name: The provider's name as it appears in logs and metadata (``anthropic``, ``offline``).
        model: The model that answers.
    """

    name: str
    model: str

    def complete(self, request: CompletionRequest) -> CompletionResponse:
        """Make one call.

        Raises:
            TransientLLMError: The call may succeed if tried again.
            PermanentLLMError: It will not.
        """
        ...
