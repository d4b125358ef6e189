"""Demo data: the documented demo borrowers and a random portfolio generator."""
