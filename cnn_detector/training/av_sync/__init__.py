"""The av_sync clip detector: does the mouth follow the sound? (issue 22, part 4)."""
