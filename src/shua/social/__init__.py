"""The social layer: follows and friends, privacy, blocks, reports, friend search; likes,
comments, daily posts, moods, messages and notifications."""
