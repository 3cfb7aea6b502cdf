defmodule Wasmex.Application do
  @moduledoc false
  # The `:wasmex` application: a supervisor for the one process Wasmex keeps, the telemetry
  # watcher (`Wasmex.Telemetry.Watcher`), when `:telemetry` was compiled in. Servers, pools and
  # everything else are started by the user's supervision tree.

  use Application

  @impl true
  def start(_type, _args) do
    children = if Wasmex.Telemetry.enabled?(), do: [Wasmex.Telemetry.Watcher], else: []
    Supervisor.start_link(children, strategy: :one_for_one, name: Wasmex.Supervisor)
  end
end
