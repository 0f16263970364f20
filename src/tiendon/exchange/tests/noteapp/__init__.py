"""A small app that exists only in the test suite: it owns a payload kind of its own and a
status vocabulary, declared the way any app does (`apps.py`), with no change to exchange.
Its handler leaves one audit record per delivery it takes in, so a test can count them."""
