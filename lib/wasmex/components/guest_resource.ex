defmodule Wasmex.Components.GuestResource do
  @moduledoc ~S"""
  Handles to resources that a component exports and owns (WIT `resource` types in an exported
  interface).

  `new/4` calls the resource's constructor, `call/5` one of its methods, `call_static/6` one of
  its static functions, and `drop/2` ends it (running the guest's destructor). Calls run in the
  calling process, on the instance the resource came from; any process may use a handle.

      {:ok, pid} = Wasmex.Components.start_link(path: "counters.wasm")
      path = ["wasmex:resources/counters@1.2.3", "accumulator"]
      {:ok, acc} = Wasmex.Components.GuestResource.new(pid, path, [10])
      {:ok, 15} = Wasmex.Components.GuestResource.call(acc, :method, :add, [5])
      :ok = Wasmex.Components.GuestResource.drop(acc)

  ## Ownership

  A handle is yours until it moves or is dropped:

    * passing it to an `own<T>` parameter moves it into the guest; passing it to a `borrow<T>`
      parameter (or calling a method on it) does not;
    * a handle that moved or was dropped gives
      `{:error, "Guest resource has already been dropped or moved"}`;
    * the same handle cannot be moved twice in one call, nor moved and borrowed (e.g. as the
      receiver) in one call;
    * resources returned by the guest, directly or nested in lists, tuples, records, options,
      results and variants, come back as new `%GuestResource{}` handles, also from
      `Wasmex.Components.call_function/4`;
    * a handle that is garbage collected while still yours is dropped inside the next call on
      its store, before that call's own work: at most 256 such drops per call, and none once
      half of the call's timeout is gone (the rest go to the following calls), so a call with a
      short timeout is not stopped, and its instance not broken, by drops it did not ask for.

  Handles belong to one instance. A call that times out is stopped, which breaks the instance
  like a trap. After a `Wasmex.Components` server replaced such an instance, the old handles give
  errors: `"Guest resource belongs to another store"` as arguments, and
  `"Error executing function: the component instance is unusable after a trap or a timeout"` for
  their own methods and drops.

  A resource call made while the instance's store runs another call waits for it (up to the
  call's timeout). Given a `Wasmex.Components` server that is not running, `new/4` and
  `call_static/6` return `{:error, :noproc}` (or `{:error, {:exit, reason}}` when it dies while
  it answers) instead of exiting.
  """

  alias Wasmex.Components.Instance
  alias Wasmex.{Driver, Native}

  @doc """
  Generates functions for one exported resource from its WIT:

      defmodule MyApp.Accumulator do
        use Wasmex.Components.GuestResource,
          wit: File.read!("priv/wit/counters.wit"),
          resource: "accumulator"
      end

      {:ok, acc} = MyApp.Accumulator.new(pid, 10)
      {:ok, 15} = MyApp.Accumulator.add(acc, 5)
      {:ok, total} = MyApp.Accumulator.sum_all(pid, [acc], timeout: 1000)
      :ok = MyApp.Accumulator.drop(acc)

  Options:
    * `wit:` — WIT source text, evaluated at compile time in the module body (so a module
      attribute works);
    * `resource:` — the resource's name;
    * `world:` — picks one of several worlds;
    * `interface:` — picks among exported resources of the same name (the interface's name or
      the name it is exported under).

  It generates `new(instance_or_server, args..., opts)` when the resource has a constructor,
  `name(resource, args..., opts)` per method, `name(instance_or_server, args..., opts)` per
  static function and `drop(resource, opts)`; `opts` takes `timeout:` (default 5000). Names are the WIT names in snake_case; two functions
  with the same Elixir name, or a function named `new` or `drop`, are compile errors.
  """
  defmacro __using__(opts) do
    Wasmex.Components.GuestResource.Codegen.build(opts)
  end

  @enforce_keys [:resource]
  defstruct [:resource, :reference]

  @type t :: %__MODULE__{resource: reference(), reference: reference() | nil}
  @type instance_or_server :: Instance.t() | GenServer.server()
  @type resource_path :: binary() | atom() | [binary() | atom()] | tuple()
  @type result :: :ok | {:ok, term()} | {:error, term()}

  @doc """
  Calls the constructor of the resource at `resource_path` (`[interface, resource]`, e.g.
  `["wasmex:resources/counters@1.2.3", "accumulator"]`) on an instance or a
  `Wasmex.Components` server.

      {:ok, %Wasmex.Components.GuestResource{}} = GuestResource.new(pid, path, [0])
  """
  @spec new(instance_or_server(), resource_path(), list(), timeout()) ::
          {:ok, t()} | {:error, term()}
  def new(instance_or_server, resource_path, params \\ [], timeout \\ 5000)
      when is_list(params) do
    with {:ok, {interface, name}} <- split_path(resource_path) do
      function = interface ++ ["[constructor]" <> name]

      case call_resource(instance_or_server, function, params, timeout) do
        :ok -> {:error, "the constructor of `#{name}` returned no resource"}
        other -> other
      end
    end
  end

  @doc """
  Calls the method `fn_name` of `resource` (`_` in the name becomes `-`). The kind is `:method`
  or `:async_method` (the same for this host). Returns `:ok` for a method without results,
  `{:ok, value}` for one, `{:ok, [values]}` for several.

      {:ok, 15} = GuestResource.call(acc, :method, :add, [5])
  """
  @spec call(t(), :method | :async_method, atom() | binary(), list(), timeout()) :: result()
  def call(resource, kind, fn_name, params \\ [], timeout \\ 5000)

  def call(%{resource: ref}, kind, fn_name, params, timeout)
      when kind in [:method, :async_method] and is_list(params) do
    name = wit_name(fn_name)

    start = &Native.guest_resource_call(ref, name, params, &1)
    start |> Driver.start(timeout, {:store_of, ref}, nil) |> Driver.settle() |> counted()
  end

  def call(_resource, kind, _fn_name, params, _timeout) do
    check_call_args!(kind, [:method, :async_method], params)
  end

  @doc """
  Calls the static function `fn_name` of the resource at `resource_path`.

      {:ok, %GuestResource{}} =
        GuestResource.call_static(pid, path, :static, :from_sum, [1, 2])
  """
  @spec call_static(
          instance_or_server(),
          resource_path(),
          :static | :async_static,
          atom() | binary(),
          list(),
          timeout()
        ) :: result()
  def call_static(instance_or_server, resource_path, kind, fn_name, params \\ [], timeout \\ 5000)

  def call_static(instance_or_server, resource_path, kind, fn_name, params, timeout)
      when kind in [:static, :async_static] and is_list(params) do
    with {:ok, {interface, name}} <- split_path(resource_path) do
      function = interface ++ ["[static]#{name}.#{wit_name(fn_name)}"]
      call_resource(instance_or_server, function, params, timeout)
    end
  end

  def call_static(_instance_or_server, _path, kind, _fn_name, params, _timeout) do
    check_call_args!(kind, [:static, :async_static], params)
  end

  @doc """
  Drops `resource`, running the guest's destructor. Dropping a handle that was already dropped
  or moved is a no-op.

      :ok = GuestResource.drop(acc)
      :ok = GuestResource.drop(acc)
  """
  @spec drop(t(), timeout()) :: :ok | {:error, term()}
  def drop(%{resource: ref}, timeout \\ 5000) do
    start = &Native.guest_resource_drop(ref, &1)

    case start |> Driver.start(timeout, {:store_of, ref}, nil) |> Driver.settle() do
      {:ok, _} -> :ok
      {:error, _} = error -> error
    end
  end

  defp call_resource(%Instance{} = instance, path, params, timeout) do
    call_instance(instance, path, params, timeout)
  end

  # Refused because an earlier call broke the server's instance (it never entered the guest):
  # the server hands out a replaced instance; call once more.
  defp call_resource(server, path, params, timeout) do
    with {:ok, instance} <- server_instance(server) do
      case attempt(instance, path, params, timeout) do
        {:unusable, _} ->
          with {:ok, instance} <- server_instance(server),
               do: call_instance(instance, path, params, timeout)

        result ->
          counted(result)
      end
    end
  end

  # A server that is not running (or dies while it answers) is an error, as for
  # `Wasmex.Components.call_function/4`.
  defp server_instance(server) do
    case Wasmex.Components.instance(server) do
      %Instance{} = instance -> {:ok, instance}
      {:error, _} = error -> error
    end
  end

  defp call_instance(instance, path, params, timeout),
    do: instance |> attempt(path, params, timeout) |> Driver.settle() |> counted()

  defp attempt(%Instance{store_resource: store, instance_resource: res}, path, params, timeout) do
    start = &Native.component_call_resource(store, res, path, params, &1)
    Driver.start(start, timeout, store, nil)
  end

  defp counted({:ok, {0, _}}), do: :ok
  defp counted({:ok, {_count, value}}), do: {:ok, value}
  defp counted({:error, _} = error), do: error

  defp split_path(path) do
    case Instance.normalize_path(path) do
      [_, _ | _] = segments ->
        {interface, [name]} = Enum.split(segments, -1)
        {:ok, {interface, name}}

      _ ->
        {:error,
         "Resource path must contain an exported interface and a resource name, got: #{inspect(path)}"}
    end
  end

  defp wit_name(name), do: name |> to_string() |> String.replace("_", "-")

  # Raises for the argument a clause did not accept: the kind, the params or the resource.
  defp check_call_args!(kind, kinds, params) do
    cond do
      kind not in kinds ->
        raise ArgumentError,
              "kind must be one of #{inspect(kinds)}, got: #{inspect(kind)}"

      not is_list(params) ->
        raise ArgumentError, "params must be a list, got: #{inspect(params)}"

      true ->
        raise ArgumentError, "expected a %Wasmex.Components.GuestResource{}"
    end
  end
end
