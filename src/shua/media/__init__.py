"""Media context: uploads, probing and validation, the transcoding ladder, posters, playback."""
