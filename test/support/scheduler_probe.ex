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
