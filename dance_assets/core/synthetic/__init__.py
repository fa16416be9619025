"""Videos made up for tests, benchmarks and the demo: dancers, their
routines and phones, lessons of a teacher and her students, each with a soundtrack and
a sidecar of the truth. It may use the lake and ingest; only tests, benchmarks and the
CLI's generate and demo commands use it.
"""
