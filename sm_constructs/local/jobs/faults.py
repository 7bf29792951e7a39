"""Faults in running jobs, read from ``faults.json`` like the API faults of :class:`Faults`.

* ``"Slow<Kind>Job": {"seconds": 120, "times": 2}``: the next two jobs of that kind start 120
  seconds late (scaled by the emulator's time scale, as Wait states are);
* ``"Fail<Kind>Job": {"error": "<FailureReason>", "times": 1}``: the next job of that kind fails
  with that reason instead of running, e.g. SageMaker's capacity failure ``CapacityError: Unable
  to provision requested ML compute capacity. Please retry using a different ML instance type.``
  (the ``FailureReason`` of a job SageMaker could not get instances for: SageMaker Developer Guide,
  "Troubleshoot Amazon SageMaker AI training", insufficient capacity).

``<Kind>`` is ``Processing``, ``Training`` or ``Transform``.
"""

from __future__ import annotations

import time
from typing import Any

__all__ = ["install"]


def install(runner: Any, faults: Any, scale: Any) -> None:
    """Apply pending job faults to every job ``runner`` (a :class:`JobRunner`) starts.

    ``scale`` is a factor or the emulator's :class:`~sm_constructs.local.server.TimeScale`, read when
    a job starts (a time scale changed on a running emulator applies to the next job).
    """
    from .runner import JobFailed

    def before_run(operation: str, name: str) -> None:
        kind = operation.removeprefix("Create")  # TrainingJob
        slow = faults.take_fault(f"Slow{kind}")
        if slow:
            time.sleep(float(slow.get("seconds", 60)) * getattr(scale, "factor", scale))
        failure = faults.take_fault(f"Fail{kind}")
        if failure:
            raise JobFailed(str(failure["error"]))

    runner.before_run = before_run
