"""``python -m reviewer.cli``."""

from reviewer.cli import main

main()
