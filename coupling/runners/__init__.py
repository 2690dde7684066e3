"""Case runners, one module per solver with one shape: ``run_<solver>_case(case, ctx) -> RunPayload``.

Model building from a validated case sits beside its runner (``fem_model.py``,
``nmm_model.py``, …); :mod:`coupling.case.registry` maps ``solver = "..."`` to the runner.
"""
