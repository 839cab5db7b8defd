"""What a team or the privacy rules decide: the network guard, redaction, suppressions, the baseline."""
