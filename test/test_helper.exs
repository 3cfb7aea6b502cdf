# :telemetry is an optional dependency: applications that have it start it.
{:ok, _} = Application.ensure_all_started(:telemetry)
ExUnit.start()
