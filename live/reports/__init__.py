"""Exports: the ballots file and its verifier, the results workbook, the 法治体检单."""
