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

  A `list<u8>` argument takes a binary or a list of integers. A `list<u8>` result is a list of
  integers, as in Wasmex 0.15.1, unless the component was compiled with `list_u8: :binary`
  (`start_link/1` option, `Wasmex.Components.Component.new/3`): then a function's `list<u8>`
  result is one binary (nested ones stay lists). Binaries were not made the default because that
  would silently change a result's shape for 0.15.1 code. Calls whose parameters and result are
  all `string`s and `list<u8>`s, given as binaries, copy each value at once (no per-byte
  conversion).

  Lists of the other number types (`list<s8>`, `list<u16>`, ..., `list<u64>`, `list<f32>`,
  `list<f64>`) and `list<u8>`s given as lists of integers take the same path: a call whose
  parameters and result are all such lists, strings or `list<u8>`s decodes each list in one pass
  and copies it at once, with the same values and errors as the per-value conversion. Their
  results are lists: there is no binary shape for them (a binary of wider numbers would need a
  width and byte order to decode it by, could not keep `:nan` and the infinities as atoms, and
  decoding it would cost what building the list costs).

  ## Failures and recovery
  A call that traps, fails in an Elixir import, or runs past its timeout (the guest is stopped
  at the deadline and the call returns `{:error, :timeout}`) leaves the wasmtime instance
  unusable (and with it every component instance of its store). The server then replaces it
  before the next call: it instantiates the compiled component again in a fresh store (made like
  the one you passed with `:store`, if any), so the guest's state is reset. `instance/1` returns
  the new instance. A call that never entered the guest (it timed out while it waited behind
  another call, or found the store busy) leaves the instance and its state as they were.

  Like a timeout, a server that is not running (a name nobody holds, or a server its supervisor
  is restarting) makes `call_function/4`, `instance/1` and `reload/2` return
  `{:error, :noproc}`, and a server that dies before it answers `{:error, {:exit, reason}}`,
  instead of exiting the caller (unless the caller is linked to the server, as `start_link/1`'s
  caller is). The reason never holds the call's arguments.

  ## The `use` macros
  Three macros generate modules from WIT at compile time. Their options, side by side (`:wit`
  means different things in each, as in Wasmex 0.15.1):

  | option | `ComponentServer` | `GuestResource` | `HostResource` |
  |---|---|---|---|
  | `:wit` | path of a WIT file (tracked) | WIT source text | WIT source text |
  | `:wit_path` | - | - | WIT file or directory (tracked) |
  | `:component` | path of a `.wasm`, used without `:wit` | - | - |
  | `:resource` | - | exported resource (needed) | imported resource (needed) |
  | `:world` | picks one of several worlds | the same | the same |
  | `:interface` | - | picks among resources of one name | the same |
  | `:imports` | import map (default `%{}`), merged under `start_link/1`'s | - | - |
  | `:convert_field_names` | snake_case <-> kebab-case keys (default `true`) | - | - |
  | generates | `start_link/1`, `child_spec/1`, a function per export | `new`, methods, statics, `drop/2` | `imports/0`, overridable `drop/1` |

  GuestResource's and HostResource's options are evaluated in the module body (so `wit: @wit`
  works); ComponentServer's are read when the macro expands. In all three, an unknown option
  raises `ArgumentError`, and WIT that cannot be read or does not fit (a parse error, a missing
  world or resource, clashing names) is a `CompileError` at the `use` line. See
  `Wasmex.Components.ComponentServer`, `Wasmex.Components.GuestResource` and
  `Wasmex.Components.HostResource`.
  """

  use GenServer

  alias Wasmex.Components.{Instance, Reload, Store}
  alias Wasmex.Driver
  alias Wasmex.Wasi.WasiP2Options

  @type server :: GenServer.server()

  @doc """
  Starts a server owning an instance of the component given as `:bytes` or `:path`.

  Options (a keyword list or a map): `:bytes`, `:path`, `:store` (a `Wasmex.Components.Store`;
  then `:wasi` and `:store_limits` are ignored), `:wasi` (`%Wasmex.Wasi.WasiP2Options{}`),
  `:store_limits`, `:imports`, `:list_u8` (`:list` or `:binary`, see
  `Wasmex.Components.Component.new/3`), `:watch`, `:name` and other GenServer options.

      iex> {:ok, pid} = Wasmex.Components.start_link(bytes: "(component)")
      iex> is_pid(pid)
      true

  `watch: true` (with `:path`) reloads the server with `reload/2` when the file changes (its
  modification time or size, checked every 250 ms), as `Wasmex.Components.Pool`'s `:watch`
  does: a development mode. A failed reload is logged as a warning and the old code serves on.

      {:ok, pid} = Wasmex.Components.start_link(path: "priv/plugin.wasm", watch: true)

      iex> Wasmex.Components.start_link(bytes: "(component)", watch: true)
      ** (ArgumentError) option :watch must be used with a :path (none given), got: true
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

    watch = Wasmex.Pool.Options.watch!(Keyword.get(opts, :watch, false), opts[:path])

    with {:ok, store} <- store(opts),
         {:ok, component} <- compile(store, bytes, Keyword.get(opts, :list_u8, :list)) do
      Wasmex.Server.start(__MODULE__, {store, component, opts, watch}, opts)
    end
  end

  defp compile(store, bytes, list_u8), do: Reload.compile(store, bytes, list_u8: list_u8)

  @doc false
  def child_spec(opts), do: Wasmex.Server.child_spec(__MODULE__, opts)

  # The store given with `:store`, or one made from `:wasi` and `:store_limits`. After a trap,
  # the server's next instance lives in a store made like this one (`Instance.renew/4`).
  defp store(opts) do
    case {opts[:store], opts[:wasi]} do
      {%Store{} = store, _} ->
        {:ok, store}

      {nil, nil} ->
        Store.new(opts[:store_limits] || %Wasmex.StoreLimits{})

      {nil, %WasiP2Options{} = wasi} ->
        Store.new_wasi(wasi, opts[:store_limits] || %Wasmex.StoreLimits{})

      {nil, other} ->
        raise ArgumentError,
              "option :wasi must be a %Wasmex.Wasi.WasiP2Options{}, got: #{inspect(other)}"
    end
  end

  @doc """
  Calls the export at `name_or_path` with `params`: `{:ok, value}` for one result, `{:ok, []}`
  for none, `{:error, reason}` otherwise. A guest still running at `timeout` is stopped and the
  call returns `{:error, :timeout}`; a server that is not running or dies during the call gives
  `{:error, :noproc}` or `{:error, {:exit, reason}}` (see "Failures and recovery").

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
  The server's current instance (it changes when the server replaces a failed instance). The
  server answers between two calls; instead of exiting, a server that is not running gives
  `{:error, :noproc}`, one that dies before it answers `{:error, {:exit, reason}}` and one still
  busy after 5 seconds `{:error, :timeout}`.

      iex> {:ok, pid} = Wasmex.Components.start_link(bytes: "(component)")
      iex> %Wasmex.Components.Instance{} = Wasmex.Components.instance(pid)
      iex> Wasmex.Components.instance(:nobody_has_this_name)
      {:error, :noproc}
  """
  @spec instance(server()) :: Instance.t() | {:error, :timeout | :noproc | {:exit, term()}}
  def instance(server), do: Wasmex.Deadline.guarded(fn -> GenServer.call(server, :instance) end)

  @doc """
  Swaps in new code (`:bytes` or `:path`, and optionally new `:imports`; the old ones are kept
  otherwise) while the server goes on serving. The new component is compiled and instantiated
  in a fresh store made like the server's, in the calling process; then the server switches
  between two calls. Returns `:ok` once the new code serves: calls already running finish on
  the old code, calls made after `:ok` run the new code, and no call fails or is lost. New code
  that does not compile or instantiate returns `{:error, reason}` and the old code keeps
  serving. The guest's state starts afresh in the new instance.

      iex> {:ok, pid} = Wasmex.Components.start_link(bytes: "(component)")
      iex> Wasmex.Components.reload(pid, bytes: "(component)")
      :ok
      iex> {:error, _} = Wasmex.Components.reload(pid, bytes: "not wasm")
  """
  @spec reload(server(), keyword() | map()) :: :ok | {:error, term()}
  def reload(server, opts) do
    opts = Wasmex.Pool.Options.reload!(opts)

    Wasmex.Deadline.guarded(fn ->
      with {:ok, prepared} <-
             Reload.prepare(opts, GenServer.call(server, :reload_base, :infinity)) do
        GenServer.call(server, {:reload, prepared}, :infinity)
      end
    end)
  end

  @impl true
  def init({store, component, opts, watch}) do
    imports = opts[:imports] || %{}
    timeout = opts[:timeout] || 5000

    case Instance.new(store, component, imports, timeout) do
      {:ok, instance} ->
        if watch, do: {:ok, _watch} = watch(watch, opts[:name] || self())
        log = Wasmex.GuestOutput.wanted?(instance.store_resource)

        {:ok,
         %{
           instance: instance,
           component: component,
           imports: imports,
           timeout: timeout,
           log: log,
           list_u8: Keyword.get(opts, :list_u8, :list)
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

  # A call refused because a trap or a stopped call (this server's, or a guest resource call's
  # on its instance) broke the instance never entered the guest: replace the instance and call
  # once more. A call that never started (timed out while waiting) leaves it as it was.
  @impl true
  def handle_call({:call, path, params, deadline}, _from, state) do
    case attempt(state, path, params, deadline) do
      {:unusable, error} ->
        case renew(state) do
          {:ok, state} ->
            {:reply, state |> attempt(path, params, deadline) |> Driver.settle(), state}

          :error ->
            {:reply, error, state}
        end

      reply ->
        {:reply, reply, state}
    end
  end

  # The instance handed out is usable: replaced first if a trap or a stopped call broke it (if
  # that fails, the old one).
  def handle_call(:instance, _from, state) do
    with true <- Instance.poisoned?(state.instance),
         {:ok, renewed} <- renew(state) do
      {:reply, renewed.instance, renewed}
    else
      _ -> {:reply, state.instance, state}
    end
  end

  def handle_call(:reload_base, _from, state),
    do: {:reply, Map.take(state, [:instance, :imports, :timeout, :list_u8]), state}

  # Between two calls: the calls after this one run the new code.
  def handle_call({:reload, prepared}, _from, state),
    do: {:reply, :ok, Map.merge(state, prepared)}

  defp attempt(state, path, params, deadline) do
    reply =
      case Wasmex.Deadline.remaining(deadline) do
        :expired -> {:error, :timeout}
        timeout -> Instance.attempt(state.instance, path, params, timeout)
      end

    if state.log, do: Wasmex.GuestOutput.log(state.instance.store_resource, path)

    reply
  end

  # `watch: true`: the watcher reloads this server from its `:path` (a `reload/2` from another
  # process, so the server serves while the new code compiles).
  defp watch(path, name) do
    server = self()
    reload = fn -> reload(server, path: path) end
    Wasmex.Watch.start_link(path, reload, "Wasmex.Components server #{inspect(name)}")
  end

  defp renew(state) do
    case Instance.renew(state.instance, state.component, state.imports, state.timeout) do
      {:ok, instance} -> {:ok, %{state | instance: instance}}
      {:error, _} -> :error
    end
  end
end
