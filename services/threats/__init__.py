"""Step 2 of CBP's risk assessment: threat sources, suggestion rules, the register and its history."""
