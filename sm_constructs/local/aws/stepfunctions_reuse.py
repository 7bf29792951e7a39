"""What moto's Step Functions interpreter rebuilds on every task and every execution, built once.

Measured in the emulator under the chaos test (20 overlapping runs of the reference pipeline), a
fifth of the server's CPU went into each of:

* **a new boto3 client per task** (``boto_client_for``: loading the service model and resolving
  its endpoint for every SDK or optimized integration call). Clients are reused per service,
  region, credentials and endpoint; low-level clients are thread-safe (boto3's guide, "Multithreading
  or multiprocessing with clients"), and moto's interpreter registers no event handlers on them, so a
  shared client behaves like a new one.
* **the ANTLR parse of the whole definition at every execution start** (and at
  CreateStateMachine). The parse tree is kept per definition text; each caller still gets its own
  evaluation components from moto's ``Preprocessor``, which only reads the tree, so executions of
  one state machine share nothing they change (each Preprocessor also gets its own stack of
  query-language scopes, which moto shares between all of them). A definition with syntax errors is parsed again
  each time and fails as before. The lexer/parser set-up repeats moto's ``parse`` (moto has no
  seam between parsing and preprocessing); the registry's check of the replaced target guards it.

Profiled the same way (CPU samples of the thread holding the GIL), two more parses repeated per
evaluation, each about a tenth of the server's CPU:

* **every JSONPath at every evaluation** (``jsonpath_ng``'s ``parse`` builds a new PLY parser, its
  tables read again, for each ``$.x`` a state reads). Parsed paths are kept per path text: a parsed
  path is an immutable expression tree whose ``find``/``update_or_create`` change only the data.
* **every intrinsic function (``States.Format(...)``) at every execution start**, an ANTLR parse
  per ``.$`` field of the definition. The parsed function is kept per text; intrinsic components
  keep nothing between evaluations (their results go on the execution's own stack).
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from typing import Any

from .. import patches

__all__ = ["install", "jsonpath"]

#: Definitions whose parse trees are kept (least recently used dropped first).
TREES_KEPT = 256
#: JSONPaths and intrinsic functions kept parsed (least recently used dropped first).
EXPRESSIONS_KEPT = 4096


@functools.lru_cache(maxsize=EXPRESSIONS_KEPT)
def _parsed(path: str, extended: bool) -> Any:
    from jsonpath_ng import parse as plain
    from jsonpath_ng.ext import parse as extension

    return extension(path) if extended else plain(path)


def jsonpath(path: str, debug: bool | None = None) -> Any:
    """``jsonpath_ng.ext.parse(path)``, parsed once per path text (a syntax error is raised each time)."""
    return _parsed(path, True)


def _plain_jsonpath(string: str) -> Any:
    """``jsonpath_ng.parse(string)`` (without the extensions), as moto's ``ResultPath`` uses it."""
    return _parsed(string, False)


@functools.lru_cache(maxsize=EXPRESSIONS_KEPT)
def _intrinsic(original: Any, src: str) -> Any:
    return original(src)


class _ClientReuse:
    """``boto3`` as moto's ``boto_client_for`` uses it, with ``client(...)`` reusing clients."""

    def __init__(self, boto3_module: Any) -> None:
        self._boto3 = boto3_module
        self._clients: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()

    def client(self, *, config: Any = None, **kwargs: Any) -> Any:
        # moto builds the same Config on every call; the other arguments name the client
        key = tuple(sorted(kwargs.items()))
        with self._lock:
            found = self._clients.get(key)
            if found is None:
                found = self._clients[key] = self._boto3.client(config=config, **kwargs)
            return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._boto3, name)


class _TreeReuse:
    def __init__(self) -> None:
        self._trees: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def parse(self, definition: str) -> tuple[Any, Any]:
        """moto's ``AmazonStateLanguageParser.parse``: (evaluation components, parse tree)."""
        from antlr4 import CommonTokenStream, InputStream
        from moto.stepfunctions.parser.asl.antlr.runtime.ASLLexer import ASLLexer
        from moto.stepfunctions.parser.asl.antlr.runtime.ASLParser import ASLParser
        from moto.stepfunctions.parser.asl.parse.asl_parser import ASLParserException, SyntaxErrorListener
        from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

        with self._lock:
            tree = self._trees.get(definition)
            if tree is not None:
                self._trees.move_to_end(definition)
        if tree is None:
            listener = SyntaxErrorListener()
            parser = ASLParser(CommonTokenStream(ASLLexer(InputStream(definition))))
            parser.removeErrorListeners()
            parser.addErrorListener(listener)
            tree = parser.state_machine()
            if listener.errors:
                raise ASLParserException(errors=listener.errors)
            with self._lock:
                self._trees[definition] = tree
                while len(self._trees) > TREES_KEPT:
                    self._trees.popitem(last=False)
        preprocessor = Preprocessor()
        # moto keeps the stack of query-language scopes in a class attribute, one list shared by every
        # Preprocessor: two executions starting at once corrupt each other's stack ("Unsupported
        # declaration in QueryLanguage=JSONPath block") when a definition has JSONata states. Each gets its own.
        preprocessor._query_language_per_scope = []
        return preprocessor.visit(tree), tree


def install() -> None:
    import moto.stepfunctions.parser.asl.utils.boto_client as boto_client

    patches.replace(
        "moto.stepfunctions.parser.asl.utils.boto_client",
        "boto3",
        _ClientReuse(boto_client.boto3),
        why="one boto3 client per service, region, credentials and endpoint instead of one per task",
    )
    patches.replace(
        "moto.stepfunctions.parser.asl.parse.asl_parser:AmazonStateLanguageParser",
        "parse",
        staticmethod(_TreeReuse().parse),
        why="a definition is parsed (ANTLR) once, not at every execution start; components stay per caller",
    )
    paths = (
        "moto.stepfunctions.parser.asl.utils.json_path",
        "moto.stepfunctions.parser.asl.component.common.path.result_path",
    )
    for module, parse in zip(paths, (jsonpath, _plain_jsonpath), strict=True):
        patches.replace(module, "parse", parse, why="a JSONPath is parsed once per path text, not at every evaluation")

    @patches.wrap(
        "moto.stepfunctions.parser.asl.parse.intrinsic.intrinsic_parser:IntrinsicParser",
        "parse",
        why="an intrinsic function is parsed (ANTLR) once per text, not at every execution start",
    )
    def parse_intrinsic(original: Any, src: str) -> Any:
        return _intrinsic(original, src)

    patches.apply()
