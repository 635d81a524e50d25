"""Property-based: validate() accepts exactly the acyclic graphs; the order respects edges."""

from hypothesis import given, settings
from hypothesis import strategies as st

from ecl_core.steps.builtin import default_registry
from ecl_core.workflow.definition import (
    WorkflowDefinition,
    WorkflowValidationError,
    topological_order,
    validate,
)

REGISTRY = default_registry()


@st.composite
def graphs(draw):
    """Random step graphs: 1 to 12 steps, any edges (cycles included), some as transitions."""
    n = draw(st.integers(1, 12))
    ids = [f"s{i}" for i in range(n)]
    edges = draw(st.sets(st.tuples(st.sampled_from(ids), st.sampled_from(ids)), max_size=3 * n))
    as_transition = (
        draw(st.sets(st.sampled_from(sorted(edges)), max_size=len(edges))) if edges else set()
    )
    types = draw(st.lists(st.sampled_from(["generate", "critique", "revise", "final_draft"]),
                          min_size=n, max_size=n))
    return ids, sorted(edges), as_transition, types


def _definition(ids, edges, as_transition, types) -> WorkflowDefinition:
    dependencies = {i: [a for a, b in edges if b == i and (a, b) not in as_transition] for i in ids}
    steps = [
        {"id": i, "type": t, "depends_on": dependencies[i]}
        for i, t in zip(ids, types, strict=True)
    ]
    transitions = [{"kind": "sequential", "from": a, "to": b} for a, b in sorted(as_transition)]
    return WorkflowDefinition.model_validate(
        {"id": "p", "name": "P", "input": "ecl_core.steps.builtin:CritiqueReviseInput",
         "steps": steps, "transitions": transitions}
    )


def _acyclic(ids, edges) -> bool:
    """Independent oracle: repeatedly remove nodes without incoming edges."""
    remaining, left = set(ids), set(edges)
    while remaining:
        sources = {n for n in remaining if not any(b == n for _, b in left)}
        if not sources:
            return False
        remaining -= sources
        left = {(a, b) for a, b in left if a not in sources}
    return True


@settings(max_examples=300, deadline=None)
@given(graphs())
def test_validate_accepts_exactly_the_acyclic_graphs(graph):
    ids, edges, as_transition, types = graph
    workflow = _definition(ids, edges, as_transition, types)
    try:
        validate(workflow, REGISTRY)
        accepted = True
    except WorkflowValidationError as err:
        assert all(p.rule == "dependency cycle" for p in err.problems), err
        accepted = False
    assert accepted == _acyclic(ids, edges)


@settings(max_examples=300, deadline=None)
@given(graphs())
def test_the_order_respects_every_dependency(graph):
    ids, edges, as_transition, types = graph
    if not _acyclic(ids, edges):
        return
    order = topological_order(_definition(ids, edges, as_transition, types))
    assert sorted(order) == sorted(ids)
    position = {s: i for i, s in enumerate(order)}
    assert all(position[a] < position[b] for a, b in edges)
