"""Domain logic of CTPAT Workbench: keyword-only functions taking a session; no UI code here."""
