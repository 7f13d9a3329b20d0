"""Chunking keeps exact offsets, respects headings and stays within the token budget."""

from autoalign.assist.sentences import split_sentences
from autoalign.library.chunking import MAX_TOKENS, chunk_text, estimate_tokens


def _doc() -> str:
    para = "The agent optimizes a proxy. " * 20
    return (
        "# Title\n\nShort intro.\n\n## Methods\n\n"
        + "\n\n".join([para] * 6)
        + "\n\n### Data\n\nOne sentence about data.\n\n## Results\n\n"
        + "word " * 900
    )


def test_chunks_are_exact_spans_of_the_text():
    text = _doc()
    chunks = chunk_text(text)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        span = text[chunk.start : chunk.end]
        assert span == span.strip() and span
    starts = [c.start for c in chunks]
    assert starts == sorted(starts)


def test_no_chunk_crosses_a_heading_and_sections_carry_their_path():
    text = _doc()
    sections = [c.section for c in chunk_text(text)]
    assert sections[0] == "Title"
    assert "Title › Methods" in sections
    assert "Title › Methods › Data" in sections
    assert sections[-1] == "Title › Results"
    for chunk in chunk_text(text):
        inner = text[chunk.start : chunk.end].split("\n")[1:]
        assert not any(line.startswith("#") for line in inner)


def test_chunks_stay_within_the_budget_even_for_one_giant_sentence():
    for chunk in chunk_text(_doc()):
        assert estimate_tokens(_doc()[chunk.start : chunk.end]) <= MAX_TOKENS


def test_small_paragraphs_are_packed_together():
    text = "\n\n".join(f"Paragraph {i} has a handful of words in it." for i in range(30))
    chunks = chunk_text(text)
    assert 1 < len(chunks) < 30


def test_text_without_structure_and_empty_text():
    assert chunk_text("") == []
    (only,) = chunk_text("just a line")
    assert (only.start, only.end, only.section) == (0, 11, "")


def test_comment_lines_in_code_fences_are_not_headings():
    text = "# Real\n\nIntro.\n\n```python\n# not a heading\nx = 1\n```\n\nAfter the code."
    assert {c.section for c in chunk_text(text)} == {"Real"}


def test_a_long_paragraph_is_cut_where_the_assistants_sentences_end():
    """One rule for both: a chunk never ends after "e.g." or an initial, where a cited sentence
    would run on into the next chunk."""
    sentence = "Reward models are gamed by proxies, e.g. Goodhart effects studied by J. Smith and others. "
    text = "## Findings\n\n" + sentence * 40
    chunks = chunk_text(text, min_tokens=20, max_tokens=40)
    assert len(chunks) > 5
    ends = {s.end for s in split_sentences(text)}
    for chunk in chunks:
        assert chunk.end in ends, text[chunk.end - 20 : chunk.end + 5]
        assert text[chunk.start : chunk.end].removeprefix("## Findings\n\n").startswith("Reward models")
