"""Test apps that scanners (cdk-nag, cfn-lint, checkov, ...) synthesize: each module has ``build(app)``."""
