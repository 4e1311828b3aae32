"""The feeds: what a viewer swipes through (For You, Following, Friends)."""
