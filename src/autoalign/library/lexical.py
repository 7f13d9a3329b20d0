"""The lexical (BM25) index: tantivy, one index document per chunk.

Why tantivy: measured against SQLite FTS5 and bm25s in ``bench/`` (see BENCHMARKS.md), it indexes
fastest and answers long, many-term queries in milliseconds because block-max WAND skips most
postings, where FTS5 must score every row that matches any term.

The index is derived data. SQLite records the highest chunk id whose index commit succeeded
(the *watermark*); after a crash, chunks above it are deleted from the index and indexed again,
so the index never holds a chunk twice and never misses one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import tantivy

from autoalign.library.highlight import STOPWORDS

WATERMARK_KEY = "lexical:watermark"
SCHEMA_VERSION = "1"
_FIELD_BOOSTS = {"title": 1.5, "section": 1.2, "text": 1.0}
#: The fields a search matches words in.
SEARCHED_FIELDS = tuple(_FIELD_BOOSTS)
#: Short queries also score the words as a phrase, so "reward hacking" ranks passages with that
#: phrase above passages that mention "hacking" alone; long queries skip it (rarely matches, costs time).
PHRASE_MAX_WORDS = 6
PHRASE_BOOST = 2.0
#: Characters with a meaning in tantivy's query language; user queries are plain text.
_QUERY_SYNTAX = re.compile(r"[+\-!(){}\[\]^\"~*?:\\/<>=]|\b(?:AND|OR|NOT|IN)\b")


@dataclass(frozen=True, slots=True)
class IndexedChunk:
    """What the lexical index needs to know about a chunk."""

    chunk_id: int
    document_id: int
    title: str
    section: str
    text: str
    source: str
    authors: Sequence[str]
    date_published: str | None


@dataclass(frozen=True, slots=True)
class Filters:
    """Restrictions on which documents a search may return."""

    source: str | None = None
    author: str | None = None
    #: Inclusive ISO dates (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``).
    date_from: str | None = None
    date_to: str | None = None

    def __bool__(self) -> bool:
        return any((self.source, self.author, self.date_from, self.date_to))


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("chunk_id", stored=True, indexed=True, fast=True)
    builder.add_unsigned_field("document_id", indexed=True)
    builder.add_text_field("title", tokenizer_name="en_stem")
    builder.add_text_field("section", tokenizer_name="en_stem")
    builder.add_text_field("text", tokenizer_name="en_stem")
    builder.add_text_field("source", tokenizer_name="raw")
    builder.add_text_field("authors", tokenizer_name="default")
    builder.add_integer_field("date", indexed=True, fast=True)
    return builder.build()


def date_key(iso_date: str | None, *, upper: bool = False) -> int | None:
    """``"2021-03-04"`` -> ``20210304``; partial dates widen to the start (or end) of the period."""
    if not iso_date:
        return None
    digits = re.sub(r"\D", "", iso_date)[:8]
    if len(digits) not in (4, 6, 8):
        return None
    pad = {4: "1231" if upper else "0101", 6: "31" if upper else "01", 8: ""}[len(digits)]
    return int(digits + pad)


class LexicalIndex:
    """BM25 search over chunks, with source, author and date filters."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.schema = _schema()
        self.index = tantivy.Index(self.schema, path=str(folder), reuse=True)
        self._writer: tantivy.IndexWriter | None = None

    # -- writing -------------------------------------------------------------------------------
    @property
    def writer(self) -> tantivy.IndexWriter:
        if self._writer is None:
            self._writer = self.index.writer(heap_size=256_000_000, num_threads=2)
        return self._writer

    def add(self, chunks: Iterable[IndexedChunk]) -> None:
        writer = self.writer
        for chunk in chunks:
            document = tantivy.Document()
            document.add_unsigned("chunk_id", chunk.chunk_id)
            document.add_unsigned("document_id", chunk.document_id)
            document.add_text("title", chunk.title)
            document.add_text("section", chunk.section)
            document.add_text("text", chunk.text)
            document.add_text("source", chunk.source)
            document.add_text("authors", " ; ".join(chunk.authors))
            if (key := date_key(chunk.date_published)) is not None:
                document.add_integer("date", key)
            writer.add_document(document)

    def delete_documents(self, document_ids: Iterable[int]) -> None:
        for document_id in document_ids:
            self.writer.delete_documents_by_term("document_id", document_id)

    def delete_chunks_above(self, chunk_id: int) -> None:
        """Drop chunks that were indexed after the last recorded watermark."""
        query = tantivy.Query.range_query(self.schema, "chunk_id", tantivy.FieldType.Unsigned, lower_bound=chunk_id + 1)
        self.writer.delete_documents_by_query(query)

    def commit(self) -> None:
        if self._writer is not None:
            self._writer.commit()
            self.index.reload()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.commit()
            self._writer.wait_merging_threads()
            self._writer = None
            self.index.reload()

    # -- reading -------------------------------------------------------------------------------
    def search(self, query: str, *, limit: int, filters: Filters = Filters()) -> list[tuple[int, float]]:
        """``(chunk_id, bm25 score)`` pairs, best first."""
        text = _QUERY_SYNTAX.sub(" ", query).strip()
        if not text:
            return []
        words = text.split()
        content = [w for w in words if w.lower() not in STOPWORDS] or words
        terms = " ".join(content)
        if 1 < len(words) <= PHRASE_MAX_WORDS:
            terms = f'{terms} "{" ".join(words)}"^{PHRASE_BOOST}'
        parsed, _errors = self.index.parse_query_lenient(
            terms, default_field_names=list(SEARCHED_FIELDS), field_boosts=_FIELD_BOOSTS
        )
        restrictions = self._filter_queries(filters)
        if restrictions:
            parsed = tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, parsed)] + [(tantivy.Occur.Must, q) for q in restrictions]
            )
        searcher = self.index.searcher()
        result = searcher.search(parsed, limit=limit, count=False)
        return [(searcher.doc(address)["chunk_id"][0], score) for score, address in result.hits]

    def _filter_queries(self, filters: Filters) -> list[tantivy.Query]:
        queries = []
        if filters.source:
            queries.append(tantivy.Query.term_query(self.schema, "source", filters.source))
        if filters.author:
            for word in re.findall(r"\w+", filters.author.lower()):
                queries.append(tantivy.Query.term_query(self.schema, "authors", word))
        low, high = date_key(filters.date_from), date_key(filters.date_to, upper=True)
        if low is not None or high is not None:
            queries.append(
                tantivy.Query.range_query(
                    self.schema, "date", tantivy.FieldType.Integer, lower_bound=low, upper_bound=high
                )
            )
        return queries

    def num_chunks(self) -> int:
        return self.index.searcher().num_docs

    def chunk_frequency(self, phrase: str, *, fields: Sequence[str] = ("text",)) -> int:
        """How many chunks contain ``phrase`` (stemmed) in ``fields``: the rarity of a key term,
        or zero for a word the library never uses."""
        words = re.findall(r"\w+", phrase)
        if not words:
            return 0
        query = words[0] if len(words) == 1 else f'"{" ".join(words)}"'
        parsed, _errors = self.index.parse_query_lenient(query, default_field_names=list(fields))
        result = self.index.searcher().search(parsed, limit=1, count=True)
        return result.count  # type: ignore[attr-defined]  # tantivy's stub omits SearchResult.count
