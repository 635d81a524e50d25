"""The translate example's steps: one that calls the LLM, one that does not.

``translate`` renders its own prompt template (``prompts/translate.md``) and asks for a
structured answer in its own output model (``Translation``); ``as_draft`` is plain Python
that turns the translation into the ``Draft`` ECL's built-in critique and revise steps read.
"""

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ecl_core import (
    LLM_RETRY_POLICY,
    Draft,
    Step,
    StepContext,
    complete_structured,
    load_prompt,
)

PROMPTS = Path(__file__).parent / "prompts"
MAX_TEXT_CHARS = 1500


class TranslateInput(BaseModel):
    """The workflow's input (the launchpad form): what to translate, into which language."""

    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS,
                      description="The text to translate, at most 1,500 characters.")
    language: str = Field("French", min_length=1, max_length=40,
                          description="The language to translate into.")


class Translation(BaseModel):
    """The model's answer: the structured output the translate prompt asks for."""

    translation: str = Field(min_length=1, max_length=2000,
                             description="The whole text, translated.")
    notes: str = Field("", max_length=500,
                       description="Words or phrases the translator was unsure of, and why.")


class TranslatedText(Translation):
    """The translate step's output: the answer with what was translated."""

    model_config = ConfigDict(extra="ignore")
    source: str
    language: str


class TranslateStep(Step[TranslateInput, TranslatedText]):
    """Translate the text with the ``translate`` prompt; structured output ``Translation``."""

    type_name = "translate"
    name = "Translate a text"
    input_model = TranslateInput
    output_model = TranslatedText
    retry_policy = LLM_RETRY_POLICY

    def execute(self, context: StepContext, step_input: TranslateInput) -> TranslatedText:
        """One call, recorded in the step's metadata (tokens, cost, model)."""
        answer = complete_structured(
            context, load_prompt("translate", PROMPTS), Translation,
            text=step_input.text, language=step_input.language,
        )
        return TranslatedText(**answer.model_dump(), source=step_input.text,
                              language=step_input.language)

    def describe(self, output: TranslatedText) -> dict[str, str]:
        """The translation and the translator's notes, as the UI shows them."""
        return {"translation": output.translation, "notes": output.notes or "(none)"}


class AsDraftStep(Step[TranslatedText, Draft]):
    """Plain Python, no LLM: the translation as revision 0 of a ``Draft`` for the critic.

    The draft's topic tells the built-in critique and revise prompts what the text is.
    """

    type_name = "as_draft"
    name = "Hand the translation to the critic"
    input_model = TranslatedText
    output_model = Draft
    uses_llm = False

    def execute(self, context: StepContext, step_input: TranslatedText) -> Draft:
        """Build the draft; no call is made."""
        topic = (f"A faithful {step_input.language} translation of this text: "
                 f"{step_input.source}")
        return Draft(topic=topic, text=step_input.translation, revision=0)
