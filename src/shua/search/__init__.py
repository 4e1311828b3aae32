"""Search: videos, users and hashtags in Chinese and English (issue 7, in progress)."""
