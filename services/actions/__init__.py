"""Step 4 of CBP's risk assessment, the action plan (MSC 3.6), and the incident register (MSC 7.37)."""
