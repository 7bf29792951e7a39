"""A script-mode inference handler served in its own process, as SageMaker's scikit-learn image serves it.

The scikit-learn serving image runs the SageMaker inference toolkit's request flow around the
user's script (``SAGEMAKER_PROGRAM``, default ``inference.py``). This module is that flow, run by
:mod:`sm_constructs.local.aws.sagemaker_runtime` as ``python -m sm_constructs.local.jobs.inference_handler <code dir>
<model dir>``, one process per deployed model, with the job runner's ``/opt/ml`` mapping:

* the script is imported from the code directory; missing handlers take the image's defaults;
  ``transform_fn`` together with ``input_fn``/``predict_fn``/``output_fn`` is an error
  (aws/sagemaker-inference-toolkit ``src/sagemaker_inference/transformer.py``,
  ``_validate_user_module_and_set_functions``; aws/sagemaker-scikit-learn-container
  ``src/sagemaker_sklearn_container/serving.py``, ``_user_module_transformer``);
* on the first request ``model_fn(model_dir)`` loads the model once (``validate_and_initialize``);
  each request is ``output_fn(predict_fn(input_fn(body, content_type), model), accept)``;
  a ``text/csv`` or ``application/json`` body reaches ``input_fn`` as ``str``, others as ``bytes``;
  a missing or ``*/*`` Accept becomes ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`` (default
  ``application/json``); a handler may take one more argument, the request context, passed as
  ``None`` here (``transform`` and ``_run_handler_function``; ``environment.py``);
* the scikit-learn defaults (``handler_service.py``, ``DefaultSKLearnUserModuleInferenceHandler``):
  no default ``model_fn`` (``NotImplementedError``); ``input_fn`` decodes ``text/csv``,
  ``application/json`` and ``application/x-npy`` to a numpy array (``float32`` for the text types);
  ``predict_fn`` is ``model.predict``; ``output_fn`` encodes to the same three types (the toolkit's
  ``decoder.py`` / ``encoder.py``); any other type raises ``UnsupportedFormatError`` (``errors.py``);
* an exception answers HTTP 500 with ``"<message>\\n<traceback>"`` (``Transformer.handle_error``),
  which SageMaker returns to the caller as ``ModelError``.

The request context of the model server (MMS) does not exist here: handlers that use it fail.
Requests and answers travel over the process's stdin/stdout in length-prefixed frames; the
script's own prints go to the endpoint's log (stderr).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import io
import json
import os
import struct
import sys
import traceback
from typing import Any, BinaryIO

__all__ = ["read_frame", "write_frame"]

JSON, CSV, NPY, ANY = "application/json", "text/csv", "application/x-npy", "*/*"
UTF8_TYPES = (JSON, CSV)


# -- framing (shared with the emulator side) -------------------------------------------------------
def write_frame(stream: BinaryIO, header: dict[str, Any], body: bytes) -> None:
    """One message: a JSON header and a body, each preceded by its length."""
    head = json.dumps(header).encode()
    stream.write(struct.pack(">II", len(head), len(body)) + head + body)
    stream.flush()


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError("the handler process closed its pipe")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(stream: BinaryIO) -> tuple[dict[str, Any], bytes]:
    head_size, body_size = struct.unpack(">II", _read_exactly(stream, 8))
    return json.loads(_read_exactly(stream, head_size)), _read_exactly(stream, body_size)


# -- the scikit-learn image's defaults ---------------------------------------------------------------
class UnsupportedFormatError(Exception):
    def __init__(self, content_type: str) -> None:
        super().__init__(
            f"Content type {content_type} is not supported by this framework.\n\n"
            "Please implement input_fn to to deserialize the request data or an output_fn to\n"
            "serialize the response. For more information, see the SageMaker Python SDK README."
        )


def _decode(data: Any, content_type: str) -> Any:
    import numpy as np

    if content_type == CSV:
        return np.genfromtxt(io.StringIO(data), delimiter=",")
    if content_type == JSON:
        return np.array(json.loads(data))
    if content_type == NPY:
        return np.load(io.BytesIO(data), allow_pickle=True)
    raise UnsupportedFormatError(content_type)


def _encode(array_like: Any, accept: str) -> Any:
    import numpy as np

    if accept == CSV:
        stream = io.StringIO()
        np.savetxt(stream, array_like, delimiter=",", fmt="%s")
        return stream.getvalue()
    if accept == JSON:
        return json.dumps(array_like, default=lambda a: a.tolist() if hasattr(a, "tolist") else str(a))
    if accept == NPY:
        buffer = io.BytesIO()
        np.save(buffer, array_like)
        return buffer.getvalue()
    raise UnsupportedFormatError(accept)


def default_model_fn(model_dir: str) -> Any:
    raise NotImplementedError(
        "\nPlease provide a model_fn implementation.\n"
        "See documentation for model_fn at https://github.com/aws/sagemaker-python-sdk\n"
    )


def default_input_fn(input_data: Any, content_type: str) -> Any:
    import numpy as np

    array = _decode(input_data, content_type)
    return array.astype(np.float32) if content_type in UTF8_TYPES else array


def default_predict_fn(input_data: Any, model: Any) -> Any:
    return model.predict(input_data)


def default_output_fn(prediction: Any, accept: str) -> Any:
    return _encode(prediction, accept)


# -- the toolkit's Transformer ---------------------------------------------------------------------
def _call(function: Any, *args: Any) -> Any:
    """A handler with or without the trailing context argument (``_run_handler_function``)."""
    count = len(inspect.signature(function).parameters)
    if count == len(args):
        return function(*args)
    if count == len(args) + 1:
        return function(*args, None)
    raise TypeError(f"{function.__name__} takes {count} arguments but {len(args)} were given.")


class Transformer:
    def __init__(self, code_dir: str, model_dir: str) -> None:
        self.code_dir, self.model_dir = code_dir, model_dir
        program = os.environ.get("SAGEMAKER_PROGRAM", "inference.py")
        self.module_name = program[:-3] if program.endswith(".py") else program
        self.default_accept = os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", JSON)
        self.model: Any = None
        self.initialized = False

    def _initialize(self) -> None:
        """Retried on the next request when it fails, as ``validate_and_initialize`` is."""
        if self.code_dir not in sys.path:
            sys.path.insert(0, self.code_dir)
        functions = {
            "model_fn": default_model_fn,
            "input_fn": default_input_fn,
            "predict_fn": default_predict_fn,
            "output_fn": default_output_fn,
            "transform_fn": None,
        }
        if importlib.util.find_spec(self.module_name) is not None:
            module = importlib.import_module(self.module_name)
            user = {name: getattr(module, name, None) for name in functions}
            if user["transform_fn"] and (user["input_fn"] or user["predict_fn"] or user["output_fn"]):
                raise ValueError(
                    "Cannot use transform_fn implementation in conjunction with "
                    "input_fn, predict_fn, and/or output_fn implementation"
                )
            functions.update({name: f for name, f in user.items() if f is not None})
        self.functions = functions
        self.model = _call(functions["model_fn"], self.model_dir)
        self.initialized = True

    def _transform(self, model: Any, data: Any, content_type: str, accept: str) -> Any:
        f = self.functions
        if f["transform_fn"] is not None:
            return _call(f["transform_fn"], model, data, content_type, accept)
        return _call(f["output_fn"], _call(f["predict_fn"], _call(f["input_fn"], data, content_type), model), accept)

    def transform(self, body: bytes, content_type: str, accept: str) -> tuple[int, bytes, str]:
        """(HTTP status, body, content type) as the model server answers ``POST /invocations``."""
        try:
            if not self.initialized:
                self._initialize()
            if not accept or accept == ANY:
                accept = self.default_accept
            data: Any = body.decode("utf-8") if content_type in UTF8_TYPES else body
            result = self._transform(self.model, data, content_type, accept)
            response, response_type = result if isinstance(result, tuple) else (result, accept)
            if isinstance(response, str):
                response = response.encode("utf-8")
            return 200, bytes(response), str(response_type)
        except Exception as error:
            trace = traceback.format_exc()
            sys.stderr.write(trace)
            return 500, f"{error}\n{trace}".encode(), "text/plain"


def main(argv: list[str]) -> int:
    code_dir, model_dir = argv
    # the protocol keeps the real stdout; the script's prints go to stderr (the endpoint's log)
    protocol_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    protocol_in = sys.stdin.buffer
    transformer = Transformer(code_dir, model_dir)
    while True:
        try:
            header, body = read_frame(protocol_in)
        except EOFError:
            return 0
        status, out, out_type = transformer.transform(body, header.get("content_type", ""), header.get("accept", ""))
        write_frame(protocol_out, {"status": status, "content_type": out_type}, out)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
