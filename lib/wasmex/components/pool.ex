defmodule Wasmex.Components.Pool do
  @moduledoc ~S"""
  A pool of warm instances of one component, behind one name.

      children = [
        {Wasmex.Components.Pool,
         name: MyApp.Render, path: "render.wasm", size: 4, wasi: %Wasmex.Wasi.WasiP2Options{}}
      ]

      {:ok, html} = Wasmex.Components.Pool.call_function(MyApp.Render, "render", ["# Hi"])

  The component is compiled once; each member has its own store and instance. Options are
  those of `Wasmex.Components.start_link/1` (`:bytes` or `:path`, `:imports`, `:wasi`,
  `:store_limits`, `:store` as a template for the members' stores, `:timeout` for
  instantiation, `:list_u8`, kept across `reload/2`) plus the pool's own, as in `Wasmex.Pool`: `:name` (required), `:size`,
  `:fresh`, `:max_waiting`, `:distributed`, `:spill`, `:watch`.

  Each member is a process owning its store and instance; calls run there, and so do the
  component's Elixir imports (as in a `Wasmex.Components` server). See `Wasmex.Pool` for how
  members are chosen, how timeouts, overload and failures are answered, reloads and pools
  across nodes. A member whose instance a trap or a stopped call (a timeout)
  broke is replaced by a new instance, as a `Wasmex.Components` server replaces its instance;
  other errors (a bad argument, a missing export) keep the member.
  """

  alias Wasmex.Components.Instance
  alias Wasmex.Pool.{Client, Component}

  @doc """
  Starts a pool (a supervisor). Compile and instantiation failures return `{:error, reason}`.

      iex> {:ok, _sup} = Wasmex.Components.Pool.start_link(name: DocComponentPool, bytes: "(component)", size: 2)
      iex> Wasmex.Components.Pool.stats(DocComponentPool).idle
      2
  """
  @spec start_link(keyword() | map()) :: Supervisor.on_start()
  def start_link(opts), do: Wasmex.Pool.Supervisor.start_link(Component, opts)

  @doc """
  A child spec for supervision trees.

      iex> %{id: MyComponents, type: :supervisor} =
      ...>   Wasmex.Components.Pool.child_spec(name: MyComponents, bytes: "(component)")
  """
  @spec child_spec(keyword() | map()) :: Supervisor.child_spec()
  def child_spec(opts), do: Wasmex.Pool.Supervisor.child_spec(__MODULE__, Component, opts)

  @doc """
  Calls the export at `name_or_path` (a name, or `{"pkg:ns/iface@ver", "fun"}`) on a member:
  the returns of `Wasmex.Components.call_function/4`, plus the pool's errors listed in
  `Wasmex.Pool` (`:overloaded`, `:noproc`, `{:member_down, reason}`, ...). `timeout` covers
  waiting for a member and running.

      iex> {:ok, _} = Wasmex.Components.Pool.start_link(name: DocMissingPool, bytes: "(component)")
      iex> Wasmex.Components.Pool.call_function(DocMissingPool, "missing", [])
      {:error, "exported function `missing` not found."}
  """
  @spec call_function(Wasmex.Pool.pool(), Instance.path(), list(), timeout()) ::
          {:ok, term()} | {:error, term()}
  def call_function(pool, name_or_path, params, timeout \\ 5000)
      when is_atom(pool) and is_list(params),
      do: Client.call(pool, Instance.normalize_path(name_or_path), params, timeout)

  @doc """
  The pool's figures, as `Wasmex.Pool.stats/1`.

      iex> {:ok, _} = Wasmex.Components.Pool.start_link(name: DocComponentStats, bytes: "(component)", size: 1)
      iex> Wasmex.Components.Pool.stats(DocComponentStats)
      %{size: 1, idle: 1, busy: 0, waiting: 0, calls: 0, replaced: 0}
  """
  @spec stats(Wasmex.Pool.pool()) :: Wasmex.Pool.stats()
  def stats(pool), do: Wasmex.Pool.Supervisor.stats(pool)

  @doc """
  Replaces the pool's component with new `:bytes` or `:path` (and optionally new `:imports`), as
  `Wasmex.Pool.reload/2` does.

      iex> {:ok, _} = Wasmex.Components.Pool.start_link(name: DocComponentReload, bytes: "(component)")
      iex> {:error, "Unable to decode WASM: " <> _} = Wasmex.Components.Pool.reload(DocComponentReload, bytes: "junk")
      iex> :ok = Wasmex.Components.Pool.reload(DocComponentReload, bytes: "(component)")
  """
  @spec reload(Wasmex.Pool.pool(), keyword() | map()) :: :ok | {:error, term()}
  def reload(pool, opts), do: Wasmex.Pool.Supervisor.reload(pool, opts)
end
