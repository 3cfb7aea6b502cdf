defmodule Wasmex.Instance do
  @moduledoc ~S"""
  Low-level instances: instantiate a module in a store, call its functions, read its globals.

  Most applications use the `Wasmex` server instead, which owns a store and an instance. These
  functions run in the calling process: imports written in Elixir run in it too, and a call
  returns to the scheduler every quarter millisecond while the guest runs, so no scheduler is held.

      iex> {:ok, store} = Wasmex.Store.new()
      iex> {:ok, module} = Wasmex.Module.compile(store, ~S[(module (func (export "one") (result i32) i32.const 1))])
      iex> {:ok, instance} = Wasmex.Instance.new(store, module, %{})
      iex> Wasmex.Instance.function_export_exists(store, instance, "one")
      true
  """

  alias Wasmex.{Driver, Module, Native, StoreOrCaller}

  @type imports :: %{optional(binary() | atom()) => %{optional(binary() | atom()) => tuple()}}
  @type link :: %{name: binary(), module: Module.t()}

  use Wasmex.Handle

  @doc """
  Instantiates `module` in the store, with Elixir `imports` and linked modules.

  `imports` is `%{namespace => %{name => {:fn, param_types, result_types, fun}}}`; `fun` gets a
  context map (`:memory`, `:caller`, `:pid`, `:instance`) followed by the wasm arguments and
  returns nothing (no results), a value (one result) or a list (several). `links` is a list of
  `%{name: name, module: module}` instantiated first and registered under `name`. A start
  function still running after `timeout` (ms, default `:infinity`) is stopped and
  `{:error, :timeout}` returned.

      iex> {:ok, store} = Wasmex.Store.new()
      iex> {:ok, module} = Wasmex.Module.compile(store, ~S[(module (import "env" "f" (func)))])
      iex> {:error, "unknown import: `env::f` has not been defined"} = Wasmex.Instance.new(store, module, %{})
  """
  @spec new(StoreOrCaller.t(), Module.t(), imports(), [link()], timeout()) ::
          {:ok, t()} | {:error, binary() | :timeout}
  def new(store_or_caller, module, imports, links \\ [], timeout \\ :infinity)

  def new(%StoreOrCaller{resource: store}, %Module{resource: module}, imports, links, timeout) do
    imports = Wasmex.Utils.stringify_keys(imports)

    links =
      Enum.map(links, fn %{name: name, module: %Module{resource: m}} ->
        %{name: to_string(name), module: m}
      end)

    ms = Driver.native_timeout(timeout)

    Wasmex.Telemetry.span(:instantiate, %{kind: :module}, fn ->
      # A module with a large image (data segments) is instantiated on a dirty CPU scheduler.
      # (`:dirty`, a step like any other, is an instantiation that goes on on one.)
      case Native.instance_new(store, module, imports, links, ms) do
        :start_dirty ->
          store
          |> Native.instance_new_dirty(module, imports, links, ms)
          |> Driver.run(store, nil, :dirty)

        step ->
          Driver.run(step, store, nil)
      end
    end)
    |> case do
      {:ok, resource} -> {:ok, wrap(resource)}
      {:error, _} = error -> error
    end
  end

  @doc """
  Whether the instance exports a function called `name`. Needs no store access, so it never
  waits on a running call.

      iex> {:ok, store} = Wasmex.Store.new()
      iex> {:ok, module} = Wasmex.Module.compile(store, "(module)")
      iex> {:ok, instance} = Wasmex.Instance.new(store, module, %{})
      iex> Wasmex.Instance.function_export_exists(store, instance, "nope")
      false
  """
  @spec function_export_exists(StoreOrCaller.t(), t(), binary() | atom()) :: boolean()
  def function_export_exists(%StoreOrCaller{}, %__MODULE__{resource: instance}, name) do
    Native.instance_function_export_exists(instance, Wasmex.Utils.name!(name, "function name"))
  end

  @doc """
  Calls the exported function `name` and sends `{:ok, results}` or `{:error, reason}` to `from`
  (as `GenServer.reply/2` does); returns `:ok`. The call runs in the calling process. With
  `timeout_ms`, a guest still running at the deadline is stopped and `{:error, :timeout}` is sent.

      iex> {:ok, store} = Wasmex.Store.new()
      iex> {:ok, module} = Wasmex.Module.compile(store, ~S[(module (func (export "one") (result i32) i32.const 1))])
      iex> {:ok, instance} = Wasmex.Instance.new(store, module, %{})
      iex> ref = make_ref()
      iex> :ok = Wasmex.Instance.call_exported_function(store, instance, "one", [], {self(), ref})
      iex> receive do {^ref, result} -> result after 1000 -> :none end
      {:ok, [1]}
  """
  @spec call_exported_function(
          StoreOrCaller.t(),
          t(),
          binary() | atom(),
          [number()],
          GenServer.from(),
          non_neg_integer() | :infinity | nil
        ) :: :ok
  def call_exported_function(store_or_caller, instance, name, params, from, timeout \\ nil) do
    GenServer.reply(from, call(store_or_caller, instance, name, params, timeout))
    :ok
  end

  @doc """
  Calls the exported function `name` and returns `{:ok, results}` or `{:error, reason}`.
  An extension of the 0.15.1 API: the synchronous form of `call_exported_function/6`.

      iex> {:ok, store} = Wasmex.Store.new()
      iex> {:ok, module} = Wasmex.Module.compile(store, ~S[(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))])
      iex> {:ok, instance} = Wasmex.Instance.new(store, module, %{})
      iex> Wasmex.Instance.call(store, instance, "add", [1, 2])
      {:ok, [3]}
  """
  @spec call(StoreOrCaller.t(), t(), binary() | atom(), [number()], timeout() | nil) ::
          {:ok, [number()]} | {:error, binary() | :timeout}
  def call(store_or_caller, instance, name, params, timeout \\ nil)

  def call(
        %StoreOrCaller{resource: store} = store_or_caller,
        %__MODULE__{resource: res} = instance,
        name,
        params,
        timeout
      )
      when is_list(params) do
    name = Wasmex.Utils.name!(name, "function name")
    # The check first: with no handler, a call builds no metadata (see Wasmex.Telemetry).
    if Wasmex.Telemetry.attached?(:call) do
      metadata = %{function: name, kind: :module, instance: instance}
      run = fn -> run_call(store, res, instance, name, params, timeout) end
      Wasmex.Telemetry.span(:call, metadata, run, store_or_caller)
    else
      run_call(store, res, instance, name, params, timeout)
    end
  end

  defp run_call(store, res, instance, name, params, timeout) do
    store
    |> Native.instance_call(res, name, params, Driver.native_timeout(timeout))
    |> Driver.run(store, instance)
  end

  @doc """
  Reads the exported global `name`.

      iex> {:ok, store} = Wasmex.Store.new()
      iex> {:ok, module} = Wasmex.Module.compile(store, ~S[(module (global (export "g") i32 (i32.const 7)))])
      iex> {:ok, instance} = Wasmex.Instance.new(store, module, %{})
      iex> Wasmex.Instance.get_global_value(store, instance, "g")
      {:ok, 7}
  """
  @spec get_global_value(StoreOrCaller.t(), t(), binary() | atom()) ::
          {:ok, number()} | {:error, binary()}
  def get_global_value(%StoreOrCaller{resource: store}, %__MODULE__{resource: res}, name) do
    Native.instance_get_global(store, res, Wasmex.Utils.name!(name, "global name"))
  end

  @doc """
  Sets the exported mutable global `name`; the value is range-checked for the global's type.

      iex> {:ok, store} = Wasmex.Store.new()
      iex> {:ok, module} = Wasmex.Module.compile(store, ~S[(module (global (export "g") (mut i32) (i32.const 7)))])
      iex> {:ok, instance} = Wasmex.Instance.new(store, module, %{})
      iex> :ok = Wasmex.Instance.set_global_value(store, instance, "g", 9)
      iex> Wasmex.Instance.get_global_value(store, instance, "g")
      {:ok, 9}
  """
  @spec set_global_value(StoreOrCaller.t(), t(), binary() | atom(), number()) ::
          :ok | {:error, binary()}
  def set_global_value(%StoreOrCaller{resource: store}, %__MODULE__{resource: res}, name, value) do
    case Native.instance_set_global(store, res, Wasmex.Utils.name!(name, "global name"), value) do
      {:ok, _} -> :ok
      {:error, _} = error -> error
    end
  end

  @doc """
  The instance's first exported memory; see `Wasmex.Memory.from_instance/2`.

      iex> {:ok, store} = Wasmex.Store.new()
      iex> {:ok, module} = Wasmex.Module.compile(store, "(module)")
      iex> {:ok, instance} = Wasmex.Instance.new(store, module, %{})
      iex> Wasmex.Instance.memory(store, instance)
      {:error, "The WebAssembly module has no exported memory."}
  """
  @spec memory(StoreOrCaller.t(), t()) :: {:ok, Wasmex.Memory.t()} | {:error, binary()}
  def memory(store_or_caller, instance),
    do: Wasmex.Memory.from_instance(store_or_caller, instance)
end
