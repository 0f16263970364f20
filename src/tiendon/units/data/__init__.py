"""Data files for seeding units (a package so the CSV files ship with the wheel)."""
