"""The critique-revise steps: pure logic over a provider, with input and output validation."""

from ecl_core.steps.base import StepResult
from ecl_core.steps.critique import critique, parse_critique
from ecl_core.steps.generate import generate
from ecl_core.steps.revise import revise

__all__ = ["StepResult", "critique", "generate", "parse_critique", "revise"]
