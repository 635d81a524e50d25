"""LLM calls: the provider protocol, and the layers around a provider (``providers/``).

From the inside out (``factory.build_provider``): sizing to the context window
(``windows``, ``schema_budget``), the rate limiter (``rate_limit``), retries and the circuit
breaker (``resilience``, ``breaker_store``), the journal (``journal``, ``journal_scope``).
"""

from ecl_core.llm.base import Provider

__all__ = ["Provider"]
