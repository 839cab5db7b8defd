"""The review plan: classify the changed files, gather context candidates, fit them under the token budget."""
