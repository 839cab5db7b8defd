"""Findings: the record and its schema, parsing a model's answer, validation and anchoring, dedupe."""
