"""Run folders, summaries and progress reporting shared by every solver."""
