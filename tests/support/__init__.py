"""Helpers shared by test layers (not tests themselves)."""
