"""Places in the cargo flow: reference ports (UN/LOCODE), admin-added places, and partner sites as places."""
