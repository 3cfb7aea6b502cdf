defmodule Wasmex.Pool.Keeper do
  @moduledoc false
  # The process registered under a pool's name. It puts the pool's `Wasmex.Pool.Info` where
  # callers read it, erases it when the pool stops, joins the pool's `:pg` group with
  # `distributed: true`, answers other nodes asking for the pool's load, and with `watch: true`
  # reloads the pool when its `:path` file changes (checked every 250 ms). Calls never go
  # through it.

  use GenServer

  require Logger

  alias Wasmex.Pool.{Cluster, Info}

  @watch_ms 250

  @doc false
  def start_link({info, recipe}),
    do: GenServer.start_link(__MODULE__, {info, recipe}, name: info.name)

  @impl true
  def init({info, recipe}) do
    Process.flag(:trap_exit, true)
    info = Info.put_new(info, recipe)
    if info.distributed, do: Cluster.join(info.name, self())
    if info.watch, do: Process.send_after(self(), :watch, @watch_ms)
    {:ok, %{info: info, seen: info.watch && version(info.watch)}}
  end

  @impl true
  # What the less-loaded choice across nodes compares: callers per member.
  def handle_call(:load, _from, state) do
    s = Info.stats(state.info)
    {:reply, (s.busy + s.waiting) / s.size, state}
  end

  @impl true
  def handle_info(:watch, %{info: info} = state) do
    Process.send_after(self(), :watch, @watch_ms)

    case version(info.watch) do
      same when same == state.seen ->
        {:noreply, state}

      new ->
        case Wasmex.Pool.Supervisor.reload(info.name, path: info.watch) do
          :ok ->
            :ok

          {:error, reason} ->
            Logger.warning("Wasmex pool #{inspect(info.name)}: reload failed: #{inspect(reason)}")
        end

        {:noreply, %{state | seen: new}}
    end
  end

  def handle_info(_message, state), do: {:noreply, state}

  # What tells a changed file: its modification time and size.
  defp version(path) do
    case File.stat(path, time: :posix) do
      {:ok, stat} -> {stat.mtime, stat.size}
      {:error, reason} -> reason
    end
  end

  @impl true
  # The pool stops (its members have stopped first). After a crash the info stays: the members
  # still use it, and the restarted keeper finds it.
  def terminate(reason, state) do
    if reason in [:normal, :shutdown] or match?({:shutdown, _}, reason),
      do: Info.erase(state.info.name)
  end
end
