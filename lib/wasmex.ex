defmodule Wasmex do
  @moduledoc ~S"""
  A process that owns one WebAssembly module instance (and its store).

  Start it under a supervisor or directly, then call the module's exported functions:

      iex> wat = ~S[(module (func (export "sum") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))]
      iex> {:ok, pid} = Wasmex.start_link(%{bytes: wat})
      iex> Wasmex.call_function(pid, "sum", [40, 2])
      {:ok, [42]}

  Imports written in Elixir run inside this process while the guest waits:

      imports = %{
        env: %{
          add_one: {:fn, [:i32], [:i32], fn %{memory: _, caller: _, pid: _, instance: _}, x -> x + 1 end}
        }
      }
      {:ok, pid} = Wasmex.start_link(%{bytes: bytes, imports: imports})

  Inside an import, pass `context.caller` to `Wasmex.Memory`, `Wasmex.Instance` and
  `Wasmex.StoreOrCaller` functions: it reaches the store of the suspended call (memory, fuel,
  globals, nested calls, compiling and instantiating).

  ## How calls run
  A call runs on the scheduler of this process. It finishes in one step when it is short; a guest
  that runs longer gives its scheduler back every quarter millisecond, so it never holds a scheduler. At
  its timeout the guest is stopped (not left running) and the call returns `{:error, :timeout}`;
  the instance serves the next call. In the same way, a call to a server that is not running (a
  name nobody holds, or a server its supervisor is restarting) returns `{:error, :noproc}`, and
  one whose server dies before it answers returns `{:error, {:exit, reason}}`; the caller does
  not exit (unless it is linked to the server, as `start_link/1`'s caller is). The reason never
  holds the call's arguments.

  wasmtime cannot interrupt a single bulk instruction (`memory.fill`, `memory.copy`,
  `memory.init`, `table.fill`, `table.copy`, `table.grow`): it runs to its end, and the deadline
  is checked right after it (the guest is then stopped, or returns its result if it finished by
  then). How long one can run depends on the memory it touches (a first `memory.fill` of 1 GiB
  faults every page in: about 0.5 s here), so a store whose memories together pass 64 MiB runs
  its guest code on dirty schedulers (a guest whose `memory.grow` takes it past that goes on on
  one before its next instruction): such an instruction then holds a dirty scheduler, never a
  normal one, and a server's caller gets its `{:error, :timeout}` at the deadline. Calls on such
  a store cost about 1.5 µs more (the dirty scheduler hop). Below 64 MiB one instruction ends within a few tens of
  milliseconds. The store's limits bound the rest: tables are capped at 1,000,000 elements by
  default (`Wasmex.StoreLimits`), and `memory_size` bounds how much one fill or copy can touch
  (a 32-bit memory is at most 4 GiB). Set `memory_size` for untrusted guests.

  Imports that call back into the same store (nested calls) may nest 100 levels deep; the
  call 101 levels deep returns `{:error, "nested calls are limited to 100 levels ..."}` to the
  import that made it. Nested calls run inside the outer call and stop at its deadline.

  ## Values
  `i32` and `i64` are integers (range-checked, never wrapped), `f32` and `f64` are floats, and
  `v128` is an unsigned 128-bit integer. The non-finite floats are atoms, both ways (as Nx spells
  them): NaN is `:nan`, +inf `:infinity` and -inf `:neg_infinity`, in results, arguments, the
  parameters and results of imports, and globals. A NaN's payload and sign bits are not kept:
  every NaN comes out as `:nan`, and `:nan` goes in as the canonical quiet NaN (use a `v128`
  to move exact bits).

      iex> {:ok, pid} = Wasmex.start_link(%{bytes: ~S[(module (func (export "div") (param f64 f64) (result f64) (f64.div (local.get 0) (local.get 1))))]})
      iex> Wasmex.call_function(pid, :div, [1.0, 0.0])
      {:ok, [:infinity]}
      iex> Wasmex.call_function(pid, :div, [:nan, 2.0])
      {:ok, [:nan]}

  ## Errors
  `call_function/4` returns `{:error, reason}` with `reason` a message (traps read
  `"Error during function excecution (<trap>): ..."`), `:timeout`, `:noproc` or
  `{:exit, reason}`.

  The other functions that reach the server (`function_exists/2`, `memory/1`, `store/1`,
  `module/1`, `instance/1`) never exit either: a server that is not running gives
  `{:error, :noproc}`, one that dies before it answers `{:error, {:exit, reason}}`, and one that
  has not answered in 5 seconds (`module/1` waits for a running call to end; the others ask
  only a remote server) `{:error, :timeout}`.
  """

  use GenServer

  alias Wasmex.{Instance, Memory, Module, Store, StoreOrCaller}
  alias Wasmex.Wasi.WasiOptions

  @state_key :"$wasmex_handles"

  @type server :: GenServer.server()
  @typedoc "Why a server did not answer: it is not running, or it died before it answered."
  @type server_error :: :noproc | {:exit, term()}
  @type start_options :: %{
          optional(:bytes) => binary(),
          optional(:module) => Module.t(),
          optional(:instance) => Instance.t(),
          optional(:store) => StoreOrCaller.t(),
          optional(:wasi) => boolean() | WasiOptions.t(),
          optional(:imports) => map(),
          optional(:links) => map(),
          optional(:name) => GenServer.name()
        }

  @doc """
  Starts a server owning an instance of the module given as `:bytes` (wasm or WAT), `:module`
  (with the `:store` it was compiled with) or `:instance` (with its `:store` and `:module`).

  Options: `:store`, `:wasi` (`true` or `%Wasmex.Wasi.WasiOptions{}`, used when no store is
  given), `:imports`, `:links` (`%{name => %{bytes: bin} | %{module: module}}`, possibly with
  nested `links:`), `:name` and other GenServer options. `:timeout` (default 5000 ms) bounds the
  module's start function. Compile and instantiation failures return `{:error, reason}`.

      iex> Wasmex.start_link(%{bytes: "not wasm"})
      {:error, "Error while parsing bytes: expected `(`\\n     --> <anon>:1:1\\n      |\\n    1 | not wasm\\n      | ^"}
  """
  @spec start_link(start_options()) :: GenServer.on_start()
  def start_link(%{} = opts) do
    with {:ok, store} <- build_store(opts),
         {:ok, module} <- build_module(opts, store),
         {:ok, links} <- Wasmex.Links.flatten(Map.get(opts, :links, %{}), store) do
      Wasmex.Server.start(__MODULE__, {store, module, opts, links}, opts)
    end
  end

  def start_link(opts) when is_list(opts), do: start_link(Map.new(opts))

  @doc false
  def child_spec(opts), do: Wasmex.Server.child_spec(__MODULE__, opts)

  defp build_store(%{store: %StoreOrCaller{} = store}), do: {:ok, store}

  defp build_store(opts) do
    case Map.get(opts, :wasi, false) do
      false ->
        Store.new()

      nil ->
        Store.new()

      true ->
        Store.new_wasi(%WasiOptions{})

      %WasiOptions{} = wasi ->
        Store.new_wasi(wasi)

      other ->
        raise ArgumentError,
              "option :wasi must be a boolean or %Wasmex.Wasi.WasiOptions{}, got: #{inspect(other)}"
    end
  end

  defp build_module(%{instance: %Instance{}} = opts, _store) do
    case opts do
      %{store: %StoreOrCaller{}, module: %Module{} = module} -> {:ok, module}
      _ -> {:error, :must_specify_store_and_module_used_to_instantiate_instance}
    end
  end

  defp build_module(%{module: %Module{} = module} = opts, _store) do
    if Map.has_key?(opts, :store),
      do: {:ok, module},
      else: {:error, :must_specify_store_used_to_compile_module}
  end

  defp build_module(%{bytes: bytes}, store) when is_binary(bytes),
    do: Module.compile(store, bytes)

  defp build_module(_opts, _store),
    do: raise(ArgumentError, "Wasmex.start_link/1 needs one of :bytes, :module or :instance")

  @doc """
  Calls the exported function `name` with `params` and returns `{:ok, results}` (always a list)
  or `{:error, reason}`. A guest still running at `timeout` (ms or `:infinity`) is stopped and the
  call returns `{:error, :timeout}`; a server that is not running or dies during the call gives
  `{:error, :noproc}` or `{:error, {:exit, reason}}` (see "How calls run").

      iex> {:ok, pid} = Wasmex.start_link(%{bytes: ~S[(module (func (export "f") (result i64) i64.const 7))]})
      iex> Wasmex.call_function(pid, :f, [])
      {:ok, [7]}
  """
  @spec call_function(server(), atom() | binary(), [number()], timeout()) ::
          {:ok, [number()]} | {:error, binary() | :timeout | server_error()}
  def call_function(server, name, params, timeout \\ 5000) when is_list(params) do
    name = Wasmex.Utils.name!(name, "function name")
    Wasmex.Deadline.call(server, &{:call_function, name, params, &1}, timeout)
  end

  @doc """
  Whether the instance exports a function `name`. Answered without waiting on a running call.
  A server that is not running exports nothing: `false` (a boolean, as in 0.15.1, so that
  `if Wasmex.function_exists(...)` stays right).

      iex> {:ok, pid} = Wasmex.start_link(%{bytes: ~S[(module (func (export "f")))]})
      iex> Wasmex.function_exists(pid, "f")
      true
      iex> Wasmex.function_exists(:nobody_has_this_name, "f")
      false
  """
  @spec function_exists(server(), atom() | binary()) :: boolean()
  def function_exists(server, name) do
    case handles(server) do
      {:ok, {store, instance}} ->
        Instance.function_export_exists(store, instance, Wasmex.Utils.stringify(name))

      {:error, _} ->
        false
    end
  end

  @doc """
  The instance's first exported memory. Answered without waiting on a running call. A server
  that is not running gives `{:error, :noproc}`.

      iex> {:ok, pid} = Wasmex.start_link(%{bytes: ~S[(module (func (export "f")))]})
      iex> Wasmex.memory(pid)
      {:error, "The WebAssembly module has no exported memory."}
  """
  @spec memory(server()) ::
          {:ok, Memory.t()} | {:error, binary() | :timeout | server_error()}
  def memory(server) do
    with {:ok, {store, instance}} <- handles(server), do: Memory.from_instance(store, instance)
  end

  @doc """
  The server's store. A server that is not running gives `{:error, :noproc}`.

      iex> {:ok, pid} = Wasmex.start_link(%{bytes: "(module)"})
      iex> {:ok, %Wasmex.StoreOrCaller{}} = Wasmex.store(pid)
  """
  @spec store(server()) :: {:ok, StoreOrCaller.t()} | {:error, :timeout | server_error()}
  def store(server) do
    with {:ok, {store, _instance}} <- handles(server), do: {:ok, store}
  end

  @doc """
  The server's compiled module. The server answers between two calls; a server that is not
  running gives `{:error, :noproc}`, one that dies before it answers `{:error, {:exit, reason}}`
  and one still busy after 5 seconds `{:error, :timeout}`.

      iex> {:ok, pid} = Wasmex.start_link(%{bytes: "(module)"})
      iex> {:ok, %Wasmex.Module{}} = Wasmex.module(pid)
      iex> Wasmex.module(:nobody_has_this_name)
      {:error, :noproc}
  """
  @spec module(server()) :: {:ok, Module.t()} | {:error, :timeout | server_error()}
  def module(server), do: Wasmex.Deadline.guarded(fn -> GenServer.call(server, :module) end)

  @doc """
  The server's instance. A server that is not running gives `{:error, :noproc}`.

      iex> {:ok, pid} = Wasmex.start_link(%{bytes: "(module)"})
      iex> {:ok, %Wasmex.Instance{}} = Wasmex.instance(pid)
  """
  @spec instance(server()) :: {:ok, Instance.t()} | {:error, :timeout | server_error()}
  def instance(server) do
    with {:ok, {_store, instance}} <- handles(server), do: {:ok, instance}
  end

  # The store and instance never change, so the server publishes them (`Wasmex.Server.published/2`):
  # this answers even while the server runs an import of its guest (which may be the caller).
  # A remote server is asked; a server that is not running is `{:error, :noproc}`.
  defp handles(server) do
    case Wasmex.Server.published(server, @state_key) do
      {:ok, handles} -> {:ok, handles}
      :error -> Wasmex.Deadline.guarded(fn -> {:ok, GenServer.call(server, :handles)} end)
    end
  end

  @impl true
  def init({store, module, opts, links}) do
    instance =
      case opts do
        %{instance: %Instance{} = instance} ->
          {:ok, instance}

        _ ->
          Instance.new(
            store,
            module,
            Map.get(opts, :imports, %{}),
            links,
            Map.get(opts, :timeout, 5000)
          )
      end

    case instance do
      {:ok, instance} ->
        :ok = Wasmex.Server.publish(@state_key, {store, instance})
        log = Wasmex.GuestOutput.wanted?(store.resource)
        {:ok, %{store: store, module: module, instance: instance, log: log}}

      {:error, reason} ->
        {:stop, reason}
    end
  end

  @impl true
  def handle_call({:call_function, name, params, deadline}, _from, state) do
    reply =
      case Wasmex.Deadline.remaining(deadline) do
        :expired -> {:error, :timeout}
        timeout -> Instance.call(state.store, state.instance, name, params, timeout)
      end

    if state.log, do: Wasmex.GuestOutput.log(state.store.resource, name)

    {:reply, reply, state}
  end

  def handle_call(:module, _from, state), do: {:reply, {:ok, state.module}, state}
  def handle_call(:handles, _from, state), do: {:reply, {state.store, state.instance}, state}
end
