defmodule Wasmex.Components.Instance do
  @moduledoc ~S"""
  Low-level component instances: instantiate a component in a store and call its exports.

  Most applications use the `Wasmex.Components` server instead. These functions run in the
  calling process, and so do the Elixir imports they call.

      iex> {:ok, store} = Wasmex.Components.Store.new()
      iex> {:ok, component} = Wasmex.Components.Component.new(store, "(component)")
      iex> {:ok, %Wasmex.Components.Instance{}} = Wasmex.Components.Instance.new(store, component, %{})
  """

  alias Wasmex.Components.{Component, Store}
  alias Wasmex.{Driver, Native}

  @type t :: %__MODULE__{
          store_resource: reference(),
          instance_resource: reference(),
          reference: reference()
        }
  @type path :: binary() | atom() | [binary() | atom()] | tuple()

  defstruct [:store_resource, :instance_resource, :reference]

  @doc """
  Instantiates `component` with WASI P2 and the Elixir `imports`:
  `%{"fun" => {:fn, fun}}` for root imports and `%{"pkg:ns/iface@ver" => %{"fun" => {:fn, fun}}}`
  for interface imports (these may replace standard WASI interfaces).

      iex> {:ok, store} = Wasmex.Components.Store.new()
      iex> {:ok, component} = Wasmex.Components.Component.new(store, "(component)")
      iex> {:ok, _instance} = Wasmex.Components.Instance.new(store, component, %{})
  """
  @spec new(Store.t(), Component.t(), map(), timeout()) :: {:ok, t()} | {:error, term()}
  def new(%Store{resource: store}, %Component{resource: component}, imports, timeout \\ :infinity)
      when is_map(imports) do
    Wasmex.Telemetry.span(:instantiate, %{kind: :component}, fn ->
      store
      |> Native.component_instance_new(component, imports, Driver.native_timeout(timeout))
      |> Driver.run(store, nil)
      |> Driver.settle()
    end)
    |> case do
      {:ok, resource} ->
        {:ok,
         %__MODULE__{store_resource: store, instance_resource: resource, reference: make_ref()}}

      {:error, _} = error ->
        error
    end
  end

  @doc """
  Calls the function at `path` and sends the result to `from` (as `GenServer.reply/2` does);
  returns `:ok`. See `call/4`. For a GenServer that owns the instance:

      def handle_call({:call, name, args}, from, %{instance: instance} = state) do
        :ok = Wasmex.Components.Instance.call_function(instance, name, args, from)
        {:noreply, state}
      end
  """
  @spec call_function(t(), path(), list(), GenServer.from(), timeout() | nil) :: :ok
  def call_function(instance, path, args, from, timeout \\ nil) do
    GenServer.reply(from, call(instance, path, args, timeout))
    :ok
  end

  @doc """
  Calls the function at `path`: a root export name, or a list or tuple such as
  `{"wasmex:test/math@0.1.0", "add"}` for a function of an exported interface. Returns
  `{:ok, value}` for one result, `{:ok, []}` for none, or `{:error, reason}`; a guest still
  running at `timeout` is stopped and `{:error, :timeout}` is returned.

      {:ok, store} = Wasmex.Components.Store.new_wasi()
      {:ok, component} = Wasmex.Components.Component.new(store, File.read!("types.wasm"))
      {:ok, instance} = Wasmex.Components.Instance.new(store, component, %{})
      {:ok, 3} = Wasmex.Components.Instance.call(instance, "add", [1, 2])
      {:ok, 3} = Wasmex.Components.Instance.call(instance, {"wasmex:test/math@0.1.0", "add"}, [1, 2], 1000)
  """
  @spec call(t(), path(), list(), timeout() | nil) :: {:ok, term()} | {:error, term()}
  def call(instance, path, args, timeout \\ nil) when is_list(args),
    do: instance |> attempt(normalize_path(path), args, timeout) |> Driver.settle()

  @doc false
  # `call/4` for a path already normalized (`normalize_path/1`), answering `{:unusable, error}`
  # when the call was refused because a trap or a stopped call broke the instance (it never
  # entered the guest).
  @spec attempt(t(), [binary()], list(), timeout() | nil) :: term()
  def attempt(%__MODULE__{} = instance, path, args, timeout) do
    # The check first: with no handler, a call builds no metadata (see Wasmex.Telemetry).
    if Wasmex.Telemetry.attached?(:call) do
      metadata = %{function: path, kind: :component, instance: instance}
      Wasmex.Telemetry.span(:call, metadata, fn -> start_call(instance, path, args, timeout) end)
    else
      start_call(instance, path, args, timeout)
    end
  end

  defp start_call(
         %__MODULE__{store_resource: store, instance_resource: res} = instance,
         path,
         args,
         timeout
       ) do
    # Calls with large arguments run on a dirty scheduler (see `heavy?/1`).
    {start, mode} =
      if heavy?(args),
        do: {&Native.component_call_dirty/5, :dirty},
        else: {&Native.component_call/5, :normal}

    Driver.start(&start.(store, res, path, args, &1), timeout, store, instance, mode)
  end

  @doc false
  # A new instance of `component` with `imports` in a fresh store made like `instance`'s: the
  # same engine, limits, WASI options and remaining fuel (the NIF keeps each store's recipe, see
  # `Store.renew/1`). For replacing an instance a trap or a stopped call broke (`poisoned?/1`):
  # every component instance of that store is unusable. The old instance is left as it is.
  @spec renew(t(), Component.t(), map(), timeout()) :: {:ok, t()} | {:error, term()}
  def renew(%__MODULE__{store_resource: store}, component, imports, timeout \\ :infinity) do
    with {:ok, store} <- store |> Store.wrap() |> Store.renew() do
      new(store, component, imports, timeout)
    end
  end

  @doc """
  Whether a trap or a stopped call (a timeout) broke the instance. It then answers every call
  with an error, and so does every other component instance of its store; `Wasmex.Components`
  servers replace such an instance before their next call. A call that never started (it timed
  out while waiting, or found the store busy) does not break it.

      iex> {:ok, store} = Wasmex.Components.Store.new()
      iex> {:ok, component} = Wasmex.Components.Component.new(store, "(component)")
      iex> {:ok, instance} = Wasmex.Components.Instance.new(store, component, %{})
      iex> Wasmex.Components.Instance.poisoned?(instance)
      false
  """
  @spec poisoned?(t()) :: boolean()
  def poisoned?(%__MODULE__{store_resource: store}),
    do: Native.store_poisoned(store) == {:ok, true}

  # Top-level arguments big enough that converting them takes milliseconds: a binary of 512 KiB
  # or more, or a list of 64Ki elements or more (counted only that far).
  @heavy_bytes 512 * 1024
  @heavy_length 64 * 1024

  # Walks the list by hand: an improper argument list goes on to the NIF, which refuses it.
  defp heavy?([arg | rest]), do: heavy_arg?(arg) or heavy?(rest)
  defp heavy?(_end), do: false

  defp heavy_arg?(arg) when is_binary(arg), do: byte_size(arg) >= @heavy_bytes
  defp heavy_arg?(arg) when is_list(arg), do: longer_than?(arg, @heavy_length - 1)
  defp heavy_arg?(_arg), do: false

  defp longer_than?([], _n), do: false
  defp longer_than?([_ | _], 0), do: true
  defp longer_than?([_ | rest], n), do: longer_than?(rest, n - 1)
  defp longer_than?(_improper, _n), do: false

  @doc false
  @spec normalize_path(path()) :: [binary()]
  def normalize_path(path) when is_binary(path) or is_atom(path), do: [to_string(path)]
  def normalize_path(path) when is_list(path), do: Enum.map(path, &to_string/1)
  def normalize_path(path) when is_tuple(path), do: path |> Tuple.to_list() |> normalize_path()
end
