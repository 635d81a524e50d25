"""LLM providers: the protocol, the anthropic, offline and scripted providers, and resilience."""

from ecl_core.llm.base import Provider

__all__ = ["Provider"]
