"""Work-arounds for llama.cpp builds that crash on the machine they run on.

On CPUs with AMX (Intel Sapphire Rapids and later) llama.cpp repacks the weights into AMX buffers
at load time, and the first decode then dies with SIGSEGV in ``ggml_backend_amx_mul_mat``
(ggml-org/llama.cpp#20824, open): the whole process goes, with no Python exception to catch. The
model loads and runs correctly from plain CPU buffers, which llama.cpp uses when a model is loaded
with ``use_extra_bufts = false``. llama-cpp-python builds its ``llama_model_params`` inside
``Llama.__init__`` from ``llama_model_default_params()`` and has no argument for that field, so the
defaults themselves are adjusted, once per process, and only where AMX is present: elsewhere the
extra buffer types (the CPU repack that speeds up Q4_0 on AVX2) stay on.
"""

from __future__ import annotations

import functools
from typing import Any


def has_amx(llama_cpp: Any) -> bool:
    info = llama_cpp.llama_print_system_info()
    text = info.decode(errors="replace") if isinstance(info, bytes) else str(info)
    return "AMX_INT8 = 1" in text


def avoid_amx_buffers(llama_cpp: Any) -> bool:
    """Make every model this process loads use plain CPU buffers when the CPU has AMX; True if so."""
    module = llama_cpp.llama_cpp  # the ctypes bindings, where Llama.__init__ looks the function up
    if getattr(module.llama_model_default_params, "_localreview_no_amx", False):
        return True
    if not has_amx(llama_cpp):
        return False
    original = module.llama_model_default_params

    @functools.wraps(original)
    def defaults() -> Any:
        params = original()
        params.use_extra_bufts = False
        return params

    defaults._localreview_no_amx = True  # type: ignore[attr-defined]
    module.llama_model_default_params = defaults
    return True
