# What telemetry costs a call with no handler attached: MIX_ENV=prod mix run bench/telemetry.exs
#
# `Wasmex.call_function(pid, "sum", [1, 2])` back to back, after a warm-up, in rounds; prints
# whether telemetry is compiled in (`Wasmex.Telemetry.enabled?/0`), the median round's and the
# fastest round's time per call (the fastest is the least disturbed on a busy machine). To
# compare with telemetry compiled out, copy the tree, set `@enabled false` in
# lib/wasmex/telemetry.ex there and run this script in both, turn about.
# All timed code lives in modules (compiled).

Code.require_file("support/harness.exs", __DIR__)

defmodule Bench.Telemetry do
  @moduledoc false

  alias Bench.Harness, as: H

  @wat ~S[(module (func (export "sum") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))]
  @calls 10_000
  @rounds 30

  def run do
    {:ok, pid} = Wasmex.start_link(%{bytes: @wat})
    loop(pid, 20_000)

    rounds =
      for _ <- 1..@rounds do
        started = :erlang.monotonic_time(:nanosecond)
        loop(pid, @calls)
        (:erlang.monotonic_time(:nanosecond) - started) / @calls
      end

    IO.puts(
      "telemetry compiled in: #{enabled?()}; per call: median " <>
        "#{H.fmt_ns(H.median(rounds))}, fastest round #{H.fmt_ns(Enum.min(rounds))} " <>
        "(#{@rounds} rounds of #{@calls} calls)"
    )
  end

  # Also runs on a build from before telemetry existed.
  defp enabled?,
    do: Code.ensure_loaded?(Wasmex.Telemetry) and apply(Wasmex.Telemetry, :enabled?, [])

  defp loop(_pid, 0), do: :ok

  defp loop(pid, n) do
    {:ok, [3]} = Wasmex.call_function(pid, "sum", [1, 2])
    loop(pid, n - 1)
  end
end

Bench.Telemetry.run()
