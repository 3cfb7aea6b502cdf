defmodule Wasmex.Pool.Supervisor do
  @moduledoc false
  # The supervisor of one pool (`Wasmex.Pool`, `Wasmex.Components.Pool`), and what the two
  # public modules share besides calls: start, stats, reload.
  #
  # Children, `:one_for_one`: the keeper (`Wasmex.Pool.Keeper`, registered under the pool's
  # name), then the members (`Wasmex.Pool.Member`). A member that dies is restarted alone.

  alias Wasmex.Pool.{Info, Keeper, Kind, Member, Options}

  @doc false
  @spec start_link(module(), keyword() | map()) :: Supervisor.on_start()
  def start_link(kind, opts) do
    {pool, member_opts} = Options.split(opts)

    # One instance is built here to check that the code instantiates, so that a start that
    # cannot work returns the reason as `Wasmex.start_link/1` would.
    with :ok <- not_running(pool.name),
         {:ok, recipe} <- kind.prepare(member_opts),
         {:ok, _member} <- kind.build(recipe) do
      # What a pool of this name left behind if it was killed is replaced.
      info = Info.put(Info.new(kind, pool), recipe)
      keeper = %{id: Keeper, start: {Keeper, :start_link, [{info, recipe}]}}

      members =
        for i <- 1..pool.size,
            do: %{id: {Member, i}, start: {Member, :start_link, [{pool.name, i}]}}

      Supervisor.start_link([keeper | members],
        strategy: :one_for_one,
        max_restarts: 100,
        max_seconds: 5
      )
    end
  end

  defp not_running(name) do
    case Process.whereis(name) do
      nil -> :ok
      pid -> {:error, {:already_started, pid}}
    end
  end

  @doc false
  @spec child_spec(module(), module(), keyword() | map()) :: Supervisor.child_spec()
  def child_spec(public, kind, opts) do
    name = if is_map(opts), do: Map.get(opts, :name), else: Keyword.get(opts, :name)
    %{id: name || public, start: {__MODULE__, :start_link, [kind, opts]}, type: :supervisor}
  end

  @doc false
  @spec stats(atom()) :: map()
  def stats(pool) do
    case Info.get(pool) do
      nil -> raise ArgumentError, "no pool named #{inspect(pool)} runs on this node"
      info -> Info.stats(info)
    end
  end

  @doc false
  # Compiles the new code and instantiates it once (in the calling process), then makes it the
  # pool's recipe: members switch before their next call (idle ones at once).
  @spec reload(atom(), keyword() | map()) :: :ok | {:error, term()}
  def reload(pool, opts) do
    opts = Options.reload!(opts)

    info =
      Info.get(pool) || raise ArgumentError, "no pool named #{inspect(pool)} runs on this node"

    with {:ok, bytes} <- Options.reload_code(opts),
         {:ok, recipe} <-
           Kind.reprepare(info.kind, Info.recipe!(pool), bytes, opts[:imports]),
         {:ok, _member} <- info.kind.build(recipe) do
      Info.put_recipe(pool, recipe)
      for name <- Tuple.to_list(info.members), do: GenServer.cast(name, :refresh)
      :ok
    end
  end
end
