"""Partitions: one per dance class (a folder under raw/), one per split protocol."""

import dagster as dg

dance_class_partitions = dg.DynamicPartitionsDefinition(name="dance_classes")

SPLIT_PROTOCOLS = ("random_frames", "by_participant")
split_protocol_partitions = dg.StaticPartitionsDefinition(list(SPLIT_PROTOCOLS))
