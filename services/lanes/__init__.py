"""Step 1 of CBP's risk assessment (MSC 2.2): lanes of nodes, their flags, flow diagrams and the lane map."""
