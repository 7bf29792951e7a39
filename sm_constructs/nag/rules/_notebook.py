"""The resource type the notebook rules read."""

NOTEBOOK = "AWS::SageMaker::NotebookInstance"
