"""Helpers for the book "AI in the Open": the Colab setup cell, figures and static widgets."""

__all__ = ["colab", "figures", "widgets"]
