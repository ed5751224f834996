"""Deploy-and-operate tooling: the resources stack, the per-stage IAM policy, packaging. Never deployed."""
