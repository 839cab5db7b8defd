"""git diff → files and hunks: the argument grammar, revision resolution, parsing, blob reading."""
