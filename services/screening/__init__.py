"""Forced-labor screening: restricted-party lists loaded from files, partner matches, analyst decisions."""
