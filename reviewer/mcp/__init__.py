"""``localreview mcp``: the review, the plan and index search as Model Context Protocol tools."""
