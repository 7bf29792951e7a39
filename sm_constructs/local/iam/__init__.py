"""IAM as AWS evaluates it: policies, the calls each API makes, enforcement on runs and jobs."""
