defmodule Wasmex.Watch do
  @moduledoc false
  # `watch: true` (`Wasmex.Pool`, `Wasmex.Components.Pool`, `Wasmex.Components`): a process
  # that checks a file every 250 ms and runs `reload` when the file has changed (its
  # modification time or size). A reload that fails (an error, or a raise) is logged as a
  # warning, `"<label>: reload failed: <reason>"`, and the old code keeps serving; the next
  # change is tried again. It is linked to the process that starts it (a pool's keeper, a
  # server) and monitors it, so it stops with it however it stops; `reload` runs here, so its
  # owner goes on serving meanwhile.
  #
  #     Wasmex.Watch.start_link("plugin.wasm", fn -> reload(...) end, "Wasmex pool MyPool")

  use GenServer

  require Logger

  @watch_ms 250

  @doc false
  @spec start_link(Path.t(), (() -> :ok | {:error, term()}), binary()) :: GenServer.on_start()
  def start_link(path, reload, label) when is_binary(path) and is_function(reload, 0),
    do: GenServer.start_link(__MODULE__, {self(), path, reload, label})

  @impl true
  def init({owner, path, reload, label}) do
    Process.monitor(owner)
    Process.send_after(self(), :check, @watch_ms)
    {:ok, %{path: path, reload: reload, label: label, seen: version(path)}}
  end

  @impl true
  def handle_info(:check, state) do
    Process.send_after(self(), :check, @watch_ms)

    case version(state.path) do
      same when same == state.seen ->
        {:noreply, state}

      new ->
        case reload(state.reload) do
          :ok -> :ok
          {:error, reason} -> Logger.warning("#{state.label}: reload failed: #{inspect(reason)}")
        end

        {:noreply, %{state | seen: new}}
    end
  end

  # The owner has stopped (also normally, which a link does not pass on).
  def handle_info({:DOWN, _ref, :process, _owner, _reason}, state), do: {:stop, :normal, state}

  defp reload(fun) do
    fun.()
  catch
    kind, reason -> {:error, {kind, reason}}
  end

  # What tells a changed file: its modification time and size.
  defp version(path) do
    case File.stat(path, time: :posix) do
      {:ok, stat} -> {stat.mtime, stat.size}
      {:error, reason} -> reason
    end
  end
end
