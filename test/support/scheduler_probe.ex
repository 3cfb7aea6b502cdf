defmodule Wasmex.SchedulerProbe do
  @moduledoc """
  Measures how long a normal scheduler is held: with one normal scheduler online, a ticker
  process that sleeps 1 ms at a time records how late it wakes up while `fun` runs.

      {ms_late, result} = Wasmex.SchedulerProbe.lateness(fn -> work() end)
  """

  @doc "Runs `fun` with one normal scheduler online; `{max ticker lateness in ms, result}`."
  @spec lateness((() -> result)) :: {float(), result} when result: term()
  def lateness(fun) do
    online = :erlang.system_flag(:schedulers_online, 1)

    try do
      test = self()
      ticker = spawn(fn -> tick(test, System.monotonic_time(:microsecond), 0) end)
      Process.sleep(5)
      result = fun.()
      send(ticker, :stop)

      receive do
        {:lateness, us} -> {us / 1000, result}
      after
        5_000 -> raise "the ticker did not answer"
      end
    after
      :erlang.system_flag(:schedulers_online, online)
    end
  end

  @doc """
  The best of `tries` measurements of `measured.(setup.())` (setup runs outside the measured
  window): a scheduler our code holds shows in every try, a pause of the machine's other load
  rarely in all of them. `{min lateness in ms, last result}`.
  """
  @spec best_lateness(pos_integer(), (() -> arg), (arg -> result)) :: {float(), result}
        when arg: term(), result: term()
  def best_lateness(tries, setup, measured) do
    1..tries
    |> Enum.map(fn _ ->
      arg = setup.()
      lateness(fn -> measured.(arg) end)
    end)
    |> Enum.reduce(fn {late, result}, {best, _} -> {min(late, best), result} end)
  end

  @doc "`best_lateness/3` with nothing to set up."
  @spec best_lateness(pos_integer(), (() -> result)) :: {float(), result} when result: term()
  def best_lateness(tries, fun), do: best_lateness(tries, fn -> nil end, fn nil -> fun.() end)

  defp tick(test, last, worst) do
    receive do
      :stop -> send(test, {:lateness, worst})
    after
      1 ->
        now = System.monotonic_time(:microsecond)
        tick(test, now, max(worst, now - last - 1000))
    end
  end
end
