"""Step types with no LLM call, to test what the compiler makes of a workflow's shape."""

from pydantic import BaseModel

from ecl_core.workflow.step import Step, StepContext, StepRegistry


class ToyInput(BaseModel):
    """Input of the toy workflows."""

    count: int = 3


class Item(BaseModel):
    n: int


class Numbers(BaseModel):
    label: str
    values: list[Item]


class SquareInput(BaseModel):
    label: str
    n: int


class Square(SquareInput):
    square: int


class Squares(BaseModel):
    squares: list[Square]


class Total(BaseModel):
    total: int


class Note(BaseModel):
    text: str


class NumbersStep(Step[ToyInput, Numbers]):
    type_name, name, input_model, output_model, uses_llm = (
        "numbers", "Numbers", ToyInput, Numbers, False)

    def execute(self, context: StepContext, step_input: ToyInput) -> Numbers:
        return Numbers(label="toy", values=[Item(n=k) for k in range(1, step_input.count + 1)])


class SquareStep(Step[SquareInput, Square]):
    type_name, name, input_model, output_model, uses_llm = (
        "square", "Square", SquareInput, Square, False)

    def execute(self, context: StepContext, step_input: SquareInput) -> Square:
        return Square(label=step_input.label, n=step_input.n, square=step_input.n**2)


class TotalStep(Step[Squares, Total]):
    type_name, name, input_model, output_model, uses_llm = (
        "total", "Total", Squares, Total, False)

    def execute(self, context: StepContext, step_input: Squares) -> Total:
        return Total(total=sum(s.square for s in step_input.squares))


class AnnounceStep(Step[Total, Note]):
    type_name, name, input_model, output_model, uses_llm = (
        "announce", "Announce", Total, Note, False)

    def execute(self, context: StepContext, step_input: Total) -> Note:
        return Note(text=f"big total: {step_input.total}")


def toy_registry() -> StepRegistry:
    return StepRegistry([NumbersStep, SquareStep, TotalStep, AnnounceStep])


class LooseBrief(BaseModel):
    """A critique-revise input that leaves the revision bound to the compiler to check."""

    topic: str
    max_revisions: int = 3
