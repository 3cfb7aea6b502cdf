defmodule Wasmex.Telemetry.Watcher do
  @moduledoc false
  # Calls `Wasmex.Telemetry.refresh/0` once a second, so handlers attached with
  # `:telemetry.attach/4` start receiving Wasmex events within a second while calls with no
  # handler pay a single `:persistent_term` read. Started by `Wasmex.Application` when
  # `:telemetry` was compiled in.

  use GenServer

  @every_ms 1_000

  @spec start_link(keyword()) :: GenServer.on_start()
  def start_link(opts), do: GenServer.start_link(__MODULE__, opts, name: __MODULE__)

  @impl true
  def init(_opts) do
    :ok = Wasmex.Telemetry.refresh()
    {:ok, schedule()}
  end

  @impl true
  def handle_info(:refresh, _timer) do
    :ok = Wasmex.Telemetry.refresh()
    {:noreply, schedule()}
  end

  defp schedule, do: Process.send_after(self(), :refresh, @every_ms)
end
