"""Declarative automation: which assets follow their upstream, and when.

- frame_manifest follows new frames eagerly: curation is cheap and keeps SQL current.
- models retrain on a nightly cron, and only if frame_manifest's data version (a hash
  of its content) changed since the model last ran: training is the expensive step, so
  it is batched to the night and never repeated on unchanged data, even when the
  manifest was rebuilt.
- evaluations follow new models eagerly, but only once the model's blocking
  accuracy check has passed.
- model_comparison and review_queue follow any new evaluation; unlike `eager()` they
  do not wait for evaluations that are missing because their model was blocked.
Raw videos and frames are driven by new_videos_sensor instead (see sensors.py).
"""

import dagster as dg

NIGHTLY = "0 2 * * *"

follow_new_frames = dg.AutomationCondition.eager()


def retrain_nightly_when_upstream_changed(cron: str = NIGHTLY,
                                          timezone: str = "UTC") -> dg.AutomationCondition:
    """True on the first evaluation after each tick, if an upstream data version changed
    since the last run.

    A change during the day waits for the next tick; a night without changes trains
    nothing, and neither does a rebuilt manifest with the same content.
    """
    return (
        dg.AutomationCondition.cron_tick_passed(cron, timezone)
        & dg.AutomationCondition.any_deps_match(
            dg.AutomationCondition.data_version_changed()).since_last_handled()
        & ~dg.AutomationCondition.any_deps_missing()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label(f"nightly ({cron} {timezone}) when upstream changed")


follow_passing_models = (
    dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()
).with_label("eager, once blocking checks passed")

follow_any_evaluation = (
    (dg.AutomationCondition.newly_missing() | dg.AutomationCondition.any_deps_updated())
    .since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("after any evaluation")

automation_sensor = dg.AutomationConditionSensorDefinition(
    "automation",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Evaluates the assets' automation conditions.",
)
