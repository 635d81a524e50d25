"""The offline provider: a deterministic, rule-based writer and critic. No model, no network.

It is ECL's embedded default, so that ECL's workflows run anywhere. It answers ECL's
prompts from the request's ``step`` and ``variables``:

* ``generate`` writes a short, rough first draft on the topic;
* ``critique`` measures the draft (length in words, sentence length, topic coverage,
  repeated phrasing) and answers in the JSON a model would give;
* ``revise`` acts on that feedback, one rule per feedback line;
* ``summarize_section`` keeps a section's first sentences (at most 35 words);
* ``combine_summaries`` joins the section summaries into one draft under 1,800 characters;
* the migration analyzer's prompts get documents built from measured facts
  (``ecl_core.migration.offline``);
* any other prompt (a step of your own) gets a schema-valid JSON object when the request
  asks for structured output, else a text quoting the request
  (``ecl_core.llm.providers.offline_any``).

Every draft ends with a line and every critique starts with words saying they are offline.
"""

import json
import re
import time
from dataclasses import dataclass

from ecl_core.errors import ConfigError
from ecl_core.llm.providers.offline_any import answer_any
from ecl_core.migration.offline import answer as migration_answer
from ecl_core.types import CompletionRequest, CompletionResponse, TokenUsage

__all__ = ["OFFLINE_MARK", "OfflineProvider", "measure"]

OFFLINE_MARK = (
    "(Offline draft: written by ECL's rule-based offline provider, not a language model.)"
)
MIN_WORDS, MAX_WORDS = 120, 300
MAX_SENTENCE_WORDS = 30
MAX_REPEATED_SHARE = 0.15
MENTIONS_PER_KEYWORD = 2

_STOPWORDS = frozenset(
    "a an and are as at be but by can do does for from has have how in into is it its of on or "
    "our should than that the their them they this to was we what when where which who why will "
    "with without you your about after before between matters matter".split()
)
_WORD = re.compile(r"[a-z0-9]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

_DEVELOPMENT = (
    "The first thing to get right is the {k} part of the question, as later choices lean on it.",
    "In practice, the {k} aspect shows up in small choices long before it shows up in an outage.",
    "A useful test is to ask how the {k} aspect holds up when a process dies halfway through.",
    "Teams that look at the {k} side early tend to argue less about it later.",
    "None of this is free: getting the {k} part right takes time, and that cost should be stated.",
    "Written examples make the {k} part concrete for the people who will run the system.",
)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _sentences(text: str) -> list[str]:
    body = text.replace(OFFLINE_MARK, " ")
    return [s.strip() for s in _SENTENCE_END.split(body.strip()) if s.strip()]


def _subject(topic: str) -> str:
    """The topic as a phrase: trimmed, without a closing period, at most 12 words or 80 chars."""
    phrase = " ".join(topic.strip().rstrip(".!?").split()[:12])
    return phrase if len(phrase) <= 80 else phrase[:80].rsplit(" ", 1)[0][:80]


def keywords(topic: str) -> list[str]:
    """Content words of the topic, in order, without repeats (at most 6)."""
    found: list[str] = []
    for word in (w[:24] for w in _words(topic)):
        if len(word) >= 4 and word not in _STOPWORDS and word not in found:
            found.append(word)
    return found[:6] or [w[:24] for w in _words(topic)[:1]]


@dataclass(frozen=True)
class Measurements:
    """Measured properties of a draft; the offline critic's evidence."""

    words: int
    sentences: int
    longest_sentence: int
    undeveloped: tuple[str, ...]
    repeated_share: float


def measure(text: str, topic: str) -> Measurements:
    """Measure a draft against its topic (units: words, sentences, share of trigrams)."""
    sentences = _sentences(text)
    lengths = [len(_words(s)) for s in sentences] or [0]
    words = _words(text.replace(OFFLINE_MARK, " "))
    undeveloped = tuple(
        k for k in keywords(topic)
        if sum(k in _words(s) for s in sentences) < MENTIONS_PER_KEYWORD
    )
    trigrams = [tuple(words[i : i + 3]) for i in range(len(words) - 2)]
    repeats = len(trigrams) - len(set(trigrams))
    return Measurements(
        words=len(words),
        sentences=len(sentences),
        longest_sentence=max(lengths),
        undeveloped=undeveloped,
        repeated_share=repeats / len(trigrams) if trigrams else 0.0,
    )


def _feedback_lines(m: Measurements) -> list[str]:
    lines = []
    if m.words < MIN_WORDS:
        lines.append(f"- length: {m.words} words; write at least {MIN_WORDS}.")
    if m.words > MAX_WORDS:
        lines.append(f"- length: {m.words} words; cut to at most {MAX_WORDS}.")
    if m.longest_sentence > MAX_SENTENCE_WORDS:
        lines.append(
            f"- sentence length: the longest sentence has {m.longest_sentence} words; "
            f"keep each under {MAX_SENTENCE_WORDS}."
        )
    if m.undeveloped:
        quoted = ", ".join(f"'{k}'" for k in m.undeveloped)
        lines.append(
            f"- topic coverage: {quoted} appear in fewer than {MENTIONS_PER_KEYWORD} sentences; "
            "develop each one."
        )
    if m.repeated_share > MAX_REPEATED_SHARE:
        lines.append(
            f"- repetition: {m.repeated_share:.0%} of three-word phrases repeat; "
            f"keep it under {MAX_REPEATED_SHARE:.0%}."
        )
    return lines


def write_draft(topic: str) -> str:
    """The first draft: deliberately short, with one run-on sentence."""
    subject = _subject(topic)
    return (
        f"{subject}: the question comes up once a demo becomes a system people rely on, and the "
        "honest answer depends on what fails, how often it fails, what a failure costs and who "
        "has to clean up afterwards when nobody planned for it. This draft starts there.\n\n"
        + OFFLINE_MARK
    )


def critique_draft(draft: str, topic: str) -> str:
    """The critique as the JSON object the critique prompt asks a model for."""
    m = measure(draft, topic)
    lines = _feedback_lines(m)
    summary = (
        f"Offline critique (rule-based, no model): {m.words} words in {m.sentences} sentences, "
        f"the longest {m.longest_sentence} words, {m.repeated_share:.0%} repeated phrasing"
    )
    if lines:
        verdict = {
            "decision": "revise",
            "critique": summary + f"; {len(lines)} problem(s) found.",
            "feedback": "\n".join(lines),
        }
    else:
        verdict = {"decision": "pass", "critique": summary + "; it passes.", "feedback": ""}
    return json.dumps(verdict)


def _split_long(sentence: str) -> list[str]:
    if len(_words(sentence)) <= MAX_SENTENCE_WORDS:
        return [sentence]
    for joint in (", and ", ", ", " and "):
        head, sep, tail = sentence.partition(joint)
        if sep and len(_words(head)) >= 4 and len(_words(tail)) >= 4:
            tail = tail[0].upper() + tail[1:]
            return _split_long(head.rstrip(",") + ".") + _split_long(tail)
    words = sentence.split()
    middle = len(words) // 2
    head, tail = " ".join(words[:middle]), " ".join(words[middle:])
    return _split_long(head + ".") + _split_long(tail[0].upper() + tail[1:])


def revise_draft(draft: str, topic: str, feedback: str) -> str:
    """Act on each feedback line the offline critic writes; the result always differs."""
    sentences = _sentences(draft)
    if "- sentence length:" in feedback:
        sentences = [part for s in sentences for part in _split_long(s)]
    if "- repetition:" in feedback:
        sentences = list(dict.fromkeys(sentences))
    too_short = "- length:" in feedback and "at least" in feedback
    if too_short or "- topic coverage:" in feedback:
        sentences += _development(sentences, topic)
    while len(_words(" ".join(sentences))) > MAX_WORDS and len(sentences) > 2:
        sentences.pop(-2)
    revised = " ".join(sentences)
    if revised == " ".join(_sentences(draft)):
        revised += f" In short, {_subject(topic)} deserves a deliberate decision."
    return revised + "\n\n" + OFFLINE_MARK


def _development(sentences: list[str], topic: str) -> list[str]:
    added: list[str] = []
    keys = keywords(topic)
    for i in range(len(_DEVELOPMENT)):
        text = " ".join(sentences + added)
        if not measure(text, topic).undeveloped and len(_words(text)) >= MIN_WORDS:
            break
        candidate = _DEVELOPMENT[i].format(k=keys[i % len(keys)])
        if candidate not in sentences:
            added.append(candidate)
    subject = _subject(topic)
    if subject[1:2].islower():
        subject = subject[0].lower() + subject[1:]
    added.append(f"In short, {subject} is worth deciding on purpose, not by accident.")
    return added


SUMMARY_WORDS = 35
COMBINED_CHARS = 1800


def summarize_text(heading: str, text: str) -> str:
    """A section's summary: its first sentences, markdown marks removed, at most 35 words."""
    plain = re.sub(r"[`*_>#|\[\]]", "", " ".join(text.split()))
    kept: list[str] = []
    for sentence in _SENTENCE_END.split(plain):
        if kept and len(" ".join(kept + [sentence]).split()) > SUMMARY_WORDS:
            break
        kept.append(sentence)
    summary = " ".join(" ".join(kept).split()[:SUMMARY_WORDS]) or heading
    return f"{heading}: {summary}"


def combine_text(title: str, listed: str) -> str:
    """The section summaries (``## heading`` blocks) as one draft under 1,800 characters."""
    summaries = [
        " ".join(block.split("\n", 1)[1].split())
        for block in listed.split("## ")[1:]
        if "\n" in block
    ]
    text = f"This is a summary of {_subject(title)}."
    for summary in summaries:
        if len(text) + 1 + len(summary) > COMBINED_CHARS:
            break
        text += " " + summary
    return text + "\n\n" + OFFLINE_MARK


class OfflineProvider:
    """Deterministic provider for ECL's prompts (see the module docstring).

    Token counts are estimates (about 4 characters a token), so usage is never zero.
    """

    name = "offline"
    model = "ecl-offline-1"

    def complete(self, request: CompletionRequest) -> CompletionResponse:
        """Answer from ``request.step`` and ``request.variables``.

        Raises:
            ConfigError: A built-in step's prompt lacks a variable its rule needs.
        """
        started = time.perf_counter()
        v = request.variables
        try:
            if request.step == "generate":
                text = write_draft(v["topic"])
            elif request.step == "critique":
                text = critique_draft(v["draft"], v["topic"])
            elif request.step == "revise":
                text = revise_draft(v["draft"], v["topic"], v["feedback"])
            elif request.step == "summarize_section":
                text = summarize_text(v["heading"], v["section"])
            elif request.step == "combine_summaries":
                text = combine_text(v["title"], v["summaries"])
            else:
                found = migration_answer(request.step, v)
                text = found if found is not None else answer_any(request)
        except KeyError as err:
            raise ConfigError(
                f"the offline provider needs variable {err.args[0]!r} for step {request.step!r}"
            ) from err
        prompt_chars = sum(len(text) for text in request.texts())
        return CompletionResponse(
            text=text,
            usage=TokenUsage(input_tokens=prompt_chars // 4 + 1, output_tokens=len(text) // 4 + 1),
            stop_reason="end_turn",
            model=self.model,
            provider=self.name,
            request_id=None,
            latency_ms=(time.perf_counter() - started) * 1000,
        )
