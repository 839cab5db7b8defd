"""The AMX work-around: on a CPU with AMX every model loads with plain CPU buffers (llama.cpp's AMX
buffers crash the first decode there); elsewhere llama.cpp's defaults are left alone."""

from __future__ import annotations

import importlib.util
from types import SimpleNamespace
from typing import Any

import pytest

from reviewer.backends.llama_quirks import avoid_amx_buffers, has_amx

needs_llama = pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="the embedded extra")


@needs_llama
def test_the_embedded_backend_loads_models_without_extra_buffers_exactly_where_amx_is() -> None:
    from reviewer.backends.embedded import import_llama_cpp

    llama_cpp = import_llama_cpp()
    params = llama_cpp.llama_cpp.llama_model_default_params()
    assert params.use_extra_bufts is (not has_amx(llama_cpp))
    assert avoid_amx_buffers(llama_cpp) is has_amx(llama_cpp)  # idempotent: applied once


def _bindings(system_info: bytes) -> Any:
    def defaults() -> Any:
        return SimpleNamespace(use_extra_bufts=True, n_gpu_layers=0)

    return SimpleNamespace(llama_print_system_info=lambda: system_info,
                           llama_cpp=SimpleNamespace(llama_model_default_params=defaults))


def test_without_amx_the_defaults_are_untouched() -> None:
    bindings = _bindings(b"CPU : SSE3 = 1 | AVX2 = 1 | AVX512 = 1 | AMX_INT8 = 0 | ")
    assert avoid_amx_buffers(bindings) is False
    assert bindings.llama_cpp.llama_model_default_params().use_extra_bufts is True


def test_with_amx_only_the_extra_buffers_are_turned_off_and_only_once() -> None:
    bindings = _bindings(b"CPU : AVX512 = 1 | AMX_INT8 = 1 | OPENMP = 1 | ")
    assert avoid_amx_buffers(bindings) is True
    patched = bindings.llama_cpp.llama_model_default_params
    params = patched()
    assert params.use_extra_bufts is False and params.n_gpu_layers == 0
    assert avoid_amx_buffers(bindings) is True and bindings.llama_cpp.llama_model_default_params is patched
