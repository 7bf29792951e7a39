"""A state machine fragment whose builder names its entry state and its exits once."""

from __future__ import annotations

from aws_cdk import aws_stepfunctions as sfn

__all__ = ["BuiltFragment"]


class BuiltFragment(sfn.StateMachineFragment):
    """A :class:`~aws_cdk.aws_stepfunctions.StateMachineFragment` whose constructor ends by setting
    ``_start`` (the state a chain enters by) and ``_ends`` (the states the chain continues from)."""

    _start: sfn.State
    _ends: list[sfn.INextable]

    @property
    def start_state(self) -> sfn.State:
        return self._start

    @property
    def end_states(self) -> list[sfn.INextable]:
        return list(self._ends)
