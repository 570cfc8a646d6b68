"""The evaluator, step by step: a disqualifying answer first, then a qualifying one (which
waives the must-include rules), then the must-include questions, else qualified with no
rule deciding. Pure: no database."""

from events.services.call_screening import compile_rules, evaluate

USE, STACK = 1, 2
AGENTS, RAG, TUNING = 0, 1, 2
TORCH, JAX, MLX = 0, 1, 2


def rules(*marks):
    names = {
        (USE, AGENTS): "Agents",
        (USE, RAG): "RAG",
        (USE, TUNING): "Fine-tuning",
        (STACK, TORCH): "PyTorch",
        (STACK, JAX): "JAX",
        (STACK, MLX): "MLX",
    }
    questions = {USE: "Use", STACK: "Stack"}
    return compile_rules(
        (q, questions[q], n, names[q, n], effect) for q, n, effect in sorted(marks)
    )


def test_no_rules_qualifies_everyone_with_no_reason():
    assert evaluate({USE: {AGENTS}}, rules()) == ("qualified", "")
    assert evaluate({}, rules()) == ("qualified", "")


def test_a_disqualifying_answer_disqualifies_and_says_which():
    r = rules((USE, RAG, "disqualify"))
    assert evaluate({USE: {RAG}}, r) == ("disqualified", "Answered “RAG” to “Use”")
    assert evaluate({USE: {AGENTS}}, r) == ("qualified", "")


def test_a_disqualifying_answer_wins_over_a_qualifying_one():
    r = rules((USE, AGENTS, "qualify"), (STACK, JAX, "disqualify"))
    assert evaluate({USE: {AGENTS}, STACK: {JAX}}, r) == (
        "disqualified",
        "Answered “JAX” to “Stack”",
    )


def test_a_qualifying_answer_qualifies_and_waives_must_include():
    r = rules((USE, AGENTS, "qualify"), (STACK, JAX, "require"), (STACK, MLX, "require"))
    assert evaluate({USE: {AGENTS}, STACK: {TORCH}}, r) == (
        "qualified",
        "Answered “Agents” to “Use”",
    )


def test_must_include_disqualifies_who_picked_none_of_them_and_names_them():
    r = rules((STACK, JAX, "require"), (STACK, MLX, "require"))
    assert evaluate({STACK: {TORCH}}, r) == (
        "disqualified",
        "Did not answer “Stack” with one of: JAX, MLX",
    )
    assert evaluate({}, r)[0] == "disqualified"  # not answering is not one of them
    assert evaluate({STACK: {TORCH, MLX}}, r) == ("qualified", "")


def test_every_must_include_question_must_be_met():
    r = rules((USE, RAG, "require"), (STACK, JAX, "require"))
    assert evaluate({USE: {RAG}, STACK: {JAX}}, r) == ("qualified", "")
    assert evaluate({USE: {RAG}}, r) == ("disqualified", "Did not answer “Stack” with one of: JAX")


def test_the_first_rule_in_the_forms_order_is_the_reason():
    r = rules((USE, AGENTS, "disqualify"), (STACK, TORCH, "disqualify"))
    assert evaluate({USE: {AGENTS}, STACK: {TORCH}}, r)[1] == "Answered “Agents” to “Use”"
