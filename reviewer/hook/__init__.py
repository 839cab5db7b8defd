"""The pre-commit hook: when to review, the result cache, the time limit."""
