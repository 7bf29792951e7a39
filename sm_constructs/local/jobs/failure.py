"""A failed job's ``FailureReason``, as SageMaker and its containers report it.

* A container may explain its failure in ``/opt/ml/output/failure``; SageMaker reports that text as
  the job's ``FailureReason`` ("How Amazon SageMaker Processes Training Output", SageMaker Developer
  Guide: "If training fails ... you can write the failure description to /opt/ml/output/failure",
  https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-output.html). The
  SageMaker training toolkit writes it from its exceptions (``sagemaker_training/trainer.py``).
* A script-mode training script that exits non-zero is reported by the training toolkit as an
  ``ExecuteUserScriptError`` with the exit code, the script's error message and its command
  (``sagemaker_training/errors.py``, ``_CalledProcessError.__str__``), under ``AlgorithmError:``.
* Any other job: ``AlgorithmError: See job logs for more information``, with the exit code and the
  first meaningful error line of the output.

The error line is what a reader looks for, never a stack frame: the exception line ending the last
Python traceback (``ValueError: ...``, ``xgboost.core.XGBoostError: ... Unknown objective
function``), else a native error (``what(): ... Check failed``), an exception-like line or a
``Fatal``/``Error`` line, else the last line (``sys.exit("why")``); ``File "...", line N``,
``[bt] (8) ...`` and source lines are skipped.
A process killed by a signal says which (``SIGSEGV``).
"""

from __future__ import annotations

import re
import signal
from pathlib import Path

__all__ = ["error_line", "failure_reason"]

#: stack frames and traceback furniture: never the reason
_FRAME = re.compile(
    r"""^\s*(?:\[bt\]\s*\(\d+\)|File\ ".*",\ line\ \d+|Traceback\ \(most\ recent\ call\ last\):|Stack\ trace:
    |During\ handling\ of\ the\ above\ exception|The\ above\ exception\ was\ the\ direct\ cause|[~^]+\s*$|\$\ )""",
    re.VERBOSE,
)
_NATIVE = re.compile(r"what\(\):\s*(.*)|(Check failed.*)")
_EXCEPTION = re.compile(r"^\s*[\w.]*(?:Error|Exception|Exit|Interrupt)\b:?")
_ERRORISH = re.compile(r"\b(?:fatal|error|failed|segmentation fault|aborted|killed)\b", re.IGNORECASE)
_CLASSIFIED = ("ClientError:", "AlgorithmError:", "InternalServerError:")


def error_line(output: str) -> str | None:
    """The first meaningful error line of a job's output (see the module docs), or None."""
    lines = [line.rstrip() for line in output.splitlines()]
    traceback = max(
        (i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")), default=None
    )
    if traceback is not None:
        for line in lines[traceback + 1 :]:
            if line.strip() and not line[0].isspace() and not _FRAME.match(line):
                return line.strip()
    candidates = [line for line in lines if line.strip() and not _FRAME.match(line)]
    for line in candidates:
        native = _NATIVE.search(line)
        if native:
            return (native.group(1) or native.group(2)).strip()
    for pattern in (_EXCEPTION, _ERRORISH):
        for line in candidates:
            if pattern.search(line):
                return line.strip()
    return candidates[-1].strip() if candidates else None  # sys.exit("why"): the last word is the reason


def _exit(code: int) -> str:
    if code < 0:
        with_name = next((s.name for s in signal.Signals if s.value == -code), f"signal {-code}")
        return f"{code} ({with_name})"
    return str(code)


def failure_reason(
    code: int, output: str, *, failure_file: Path | None = None, command: list[str] | None = None
) -> str:
    """The ``FailureReason`` of a job whose process exited with ``code`` after writing ``output``.

    :param failure_file: the job's ``/opt/ml/output/failure``; its text wins when it exists.
    :param command: the script-mode training command, reported as the training toolkit does.
    """
    if failure_file is not None and failure_file.is_file():
        text = failure_file.read_text(errors="replace").strip()
        if text:
            return text if text.startswith(_CLASSIFIED) else f"AlgorithmError: {text}"
    line = error_line(output)
    if line is None:
        line = f"killed by {_exit(code).split(' ', 1)[-1].strip('()')}" if code < 0 else "no error line in the output"
    if command is not None:
        return (
            f'AlgorithmError: ExecuteUserScriptError:\nExitCode {code}\nErrorMessage "{line[:400]}"\n'
            f'Command "{" ".join(command)}", exit code: {code}'
        )
    return f"AlgorithmError: See job logs for more information. Exit code {_exit(code)}: {line[:400]}"
