"""Deciding which frames a model may learn from: automatic cleaning
verdicts, a person's decisions on top of them, the splits that keep a dancer out of
training and validation at once, and the manifest that records all of this; and
grading the automatic cleaning against the generator's truth. It reads the lake and
what ingest wrote.
"""
