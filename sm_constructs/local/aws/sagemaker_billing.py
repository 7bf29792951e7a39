"""What a job's bill is computed from, which moto's descriptions lack.

* ``DescribeProcessingJob``'s ``ProcessingResources`` (the instances; required in botocore's
  ``DescribeProcessingJobResponse``): moto drops it from the create request; it is kept as sent.
* ``DescribeProcessingJob``'s ``ProcessingStartTime`` (botocore's model: "The time at which the
  processing job started"): moto's processing job has an end time only. Declaring the attribute
  lets the job runner record the start as it does for training and transform jobs, and moto's
  description lists every attribute a job has.
* ``DescribeTrainingJob``'s ``TrainingTimeInSeconds`` ("the training time in seconds") and
  ``BillableTimeInSeconds`` ("the billable time in seconds. Billable time refers to the absolute
  wall-clock time"; with managed spot training it may be less than the training time), both once
  the job has ended (botocore's model, ``DescribeTrainingJobResponse``). The emulator never
  interrupts a spot job, so the billable time is the training time: ``TrainingEndTime`` -
  ``TrainingStartTime`` in whole seconds, at least 1.
"""

from __future__ import annotations

from typing import Any

__all__ = ["install"]

_ENDED = {"Completed", "Failed", "Stopped"}


def install() -> None:
    from .. import patches

    @patches.wrap(
        "moto.sagemaker.responses:SageMakerResponse",
        "create_processing_job",
        why="DescribeProcessingJob returns the ProcessingResources the job was created with (botocore's model)",
    )
    def create_processing_job(original: Any, self: Any) -> Any:
        result = original(self)
        job = self.sagemaker_backend.processing_jobs[self._get_param("ProcessingJobName")]
        job.processing_resources = self._get_param("ProcessingResources")
        return result

    patches.add(
        "moto.sagemaker.models:FakeProcessingJob",
        "processing_start_time",
        None,
        why="DescribeProcessingJob reports when the job started (botocore's model); the job runner records it",
    )

    @patches.wrap(
        "moto.sagemaker.models:FakeTrainingJob",
        "response_object",
        why="DescribeTrainingJob reports the training and billable time of an ended job (botocore's model)",
    )
    def response_object(original: Any, self: Any) -> dict[str, Any]:
        response = dict(original(self))
        start, end = response.get("TrainingStartTime"), response.get("TrainingEndTime")
        if response.get("TrainingJobStatus") in _ENDED and start is not None and end is not None:
            seconds = max(1, round((end - start).total_seconds()))
            response.setdefault("TrainingTimeInSeconds", seconds)
            response.setdefault("BillableTimeInSeconds", seconds)
        return response

    patches.apply()
