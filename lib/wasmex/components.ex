defmodule Wasmex.Components do
  @moduledoc ~S"""
  A process that owns one WebAssembly component instance.

  Put it in a supervision tree and call the component's exports:

      children = [
        {Wasmex.Components,
         name: MyApp.Plugin,
         path: "plugin.wasm",
         imports: %{"publish-message" => {:fn, &MyApp.Chat.publish/1}},
         wasi: %Wasmex.Wasi.WasiP2Options{}}
      ]

      {:ok, html} = Wasmex.Components.call_function(MyApp.Plugin, "render", ["# Hello"])

  Functions of exported interfaces are called by path:
  `Wasmex.Components.call_function(pid, {"wasmex:test/math@0.1.0", "add"}, [1, 2])`.

  ## Values
  WIT values map to Elixir terms as in Wasmex 0.15.1 (records are maps, variants atoms or
  `{case, payload}`, options `:none` / `{:some, v}`, results `{:ok, v}` / `{:error, e}`, ...).
  `f32` and `f64` are floats, and their non-finite values are atoms both ways: NaN is `:nan`,
  +inf `:infinity`, -inf `:neg_infinity`. A NaN's payload and sign bits are not kept.

  ## Failures and recovery
  A call that traps, fails in an Elixir import, or runs past its timeout (the guest is stopped
  at the deadline and the call returns `{:error, :timeout}`) leaves the wasmtime instance
  unusable (and with it every component instance of its store). The server then replaces it
  before the next call: it instantiates the compiled component again in a fresh store (made like
  the one you passed with `:store`, if any), so the guest's state is reset. `instance/1` returns
  the new instance.
  """

  use GenServer

  alias Wasmex.Components.{Component, Instance, Store}
  alias Wasmex.Wasi.WasiP2Options

  @gen_server_keys [:name, :timeout, :debug, :spawn_opt, :hibernate_after]

  @type server :: GenServer.server()

  @doc """
  Starts a server owning an instance of the component given as `:bytes` or `:path`.

  Options (a keyword list or a map): `:bytes`, `:path`, `:store` (a `Wasmex.Components.Store`;
  then `:wasi` and `:store_limits` are ignored), `:wasi` (`%Wasmex.Wasi.WasiP2Options{}`),
  `:store_limits`, `:imports`, `:name` and other GenServer options.

      iex> {:ok, pid} = Wasmex.Components.start_link(bytes: "(component)")
      iex> is_pid(pid)
      true
  """
  @spec start_link(keyword() | map()) :: GenServer.on_start()
  def start_link(opts) when is_map(opts), do: start_link(Map.to_list(opts))

  def start_link(opts) when is_list(opts) do
    bytes =
      cond do
        is_binary(opts[:bytes]) -> opts[:bytes]
        is_binary(opts[:path]) -> File.read!(opts[:path])
        true -> raise ArgumentError, "Either :bytes or :path must be provided"
      end

    with {:ok, store} <- new_store(opts),
         {:ok, component} <- compile(store, bytes),
         {:ok, pid} <-
           GenServer.start(
             __MODULE__,
             {store, component, opts},
             Keyword.take(opts, @gen_server_keys)
           ) do
      Process.link(pid)
      {:ok, pid}
    end
  end

  # Component.new/2 raises for a WIT package (as in Wasmex 0.15.1); a server start returns it.
  defp compile(store, bytes) do
    Component.new(store, bytes)
  rescue
    e in ErlangError ->
      case e.original do
        :"Only components are supported" -> {:error, "Only components are supported"}
        _ -> reraise e, __STACKTRACE__
      end
  end

  @doc false
  def child_spec(opts) do
    %{id: opts[:name] || __MODULE__, start: {__MODULE__, :start_link, [opts]}}
  end

  defp new_store(opts) do
    case opts[:store] do
      %Store{} = store -> {:ok, store}
      nil -> fresh_store(opts)
    end
  end

  defp fresh_store(opts) do
    limits = opts[:store_limits] || %Wasmex.StoreLimits{}

    case opts[:wasi] do
      %WasiP2Options{} = wasi ->
        Store.new_wasi(wasi, limits)

      nil ->
        Store.new(limits)

      other ->
        raise ArgumentError,
              "option :wasi must be a %Wasmex.Wasi.WasiP2Options{}, got: #{inspect(other)}"
    end
  end

  @doc """
  Calls the export at `name_or_path` with `params`: `{:ok, value}` for one result, `{:ok, []}`
  for none, `{:error, reason}` otherwise. A guest still running at `timeout` is stopped and the
  call returns `{:error, :timeout}`.

      iex> {:ok, pid} = Wasmex.Components.start_link(bytes: "(component)")
      iex> Wasmex.Components.call_function(pid, "missing", [])
      {:error, "exported function `missing` not found."}
  """
  @spec call_function(server(), Instance.path(), list(), timeout()) ::
          {:ok, term()} | {:error, term()}
  def call_function(server, name_or_path, params, timeout \\ 5000) when is_list(params) do
    path = Instance.normalize_path(name_or_path)
    Wasmex.Deadline.call(server, &{:call, path, params, &1}, timeout)
  end

  @doc """
  The server's current instance (it changes when the server replaces a failed instance).

      iex> {:ok, pid} = Wasmex.Components.start_link(bytes: "(component)")
      iex> %Wasmex.Components.Instance{} = Wasmex.Components.instance(pid)
  """
  @spec instance(server()) :: Instance.t()
  def instance(server), do: GenServer.call(server, :instance)

  @impl true
  def init({store, component, opts}) do
    imports = opts[:imports] || %{}

    case Instance.new(store, component, imports, opts[:timeout] || 5000) do
      {:ok, instance} ->
        {:ok,
         %{
           store: store,
           component: component,
           opts: opts,
           imports: imports,
           instance: instance
         }}

      {:error, reason} ->
        {:stop, reason}
    end
  end

  @doc false
  # What component operations answer on a store broken by a trap or a stopped call.
  @spec unusable_error() :: binary()
  def unusable_error,
    do: "Error executing function: the component instance is unusable after a trap or a timeout"

  @impl true
  def handle_call({:call, path, params, deadline}, _from, state) do
    {reply, state} = call_instance(state, path, params, deadline)
    {:reply, reply, state}
  end

  # The instance handed out is usable: replaced first if a trap or a stopped call broke it (if
  # that fails, the old one).
  def handle_call(:instance, _from, state) do
    state = if Instance.poisoned?(state.instance), do: renewed(state), else: state
    {:reply, state.instance, state}
  end

  # A call refused because a trap or a stopped call (this server's, or a guest resource call's
  # on its instance) broke the instance never entered the guest: replace the instance and call
  # once more. A call that never started (timed out while waiting) leaves it as it was.
  defp call_instance(state, path, params, deadline) do
    case attempt(state, path, params, deadline) do
      {:unusable, error} ->
        case renew_instance(state) do
          {:ok, state} ->
            {attempt(state, path, params, deadline) |> Wasmex.Driver.settle(), state}

          {:error, _} ->
            {error, state}
        end

      reply ->
        {reply, state}
    end
  end

  defp attempt(state, path, params, deadline) do
    case Wasmex.Deadline.remaining(deadline) do
      :expired -> {:error, :timeout}
      timeout -> Instance.attempt(state.instance, path, params, timeout)
    end
  end

  defp renewed(state) do
    case renew_instance(state) do
      {:ok, state} -> state
      {:error, _} -> state
    end
  end

  defp renew_instance(state) do
    # A trap poisons every component instance of the store, so the new instance gets a fresh
    # store: built like the one given with `:store`, or from the options.
    store =
      case state.opts[:store] do
        %Store{} = store -> Store.renew(store)
        nil -> fresh_store(state.opts)
      end

    with {:ok, store} <- store,
         {:ok, instance} <-
           Instance.new(store, state.component, state.imports, state.opts[:timeout] || 5000) do
      {:ok, %{state | store: store, instance: instance}}
    end
  end
end
