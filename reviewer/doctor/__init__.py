"""`localreview doctor`: checks of what a review would use, and sizing for the hardware."""
