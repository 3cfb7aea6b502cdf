defmodule Wasmex.Pool.Core do
  @moduledoc false
  # The pool kind for core modules (`Wasmex.Pool`). Members are made like `Wasmex.start_link/1`
  # makes its instance: a store per member (fresh from `:wasi`, or renewed from `:store`), the
  # module compiled once, `:imports` and `:links`, `:timeout` for the start function.
  # A failed call replaces its member: the guest may have stopped half-way through changing
  # its state (a trap, a timeout), and errors are told apart by nothing but their text. Only a
  # call of a function the instance does not export keeps it.

  @behaviour Wasmex.Pool.Kind

  alias Wasmex.{GuestOutput, Instance, Module, Native, Store, StoreOrCaller}
  alias Wasmex.Pool.Kind
  alias Wasmex.Wasi.WasiOptions

  @impl true
  def prepare(opts) do
    if Keyword.has_key?(opts, :instance) do
      raise ArgumentError,
            "option :instance is not supported by pools (each member has its own instance), " <>
              "got: #{inspect(opts[:instance])}"
    end

    {new_store, run_store} = store_makers(opts)

    with {:ok, store} <- new_store.(),
         {:ok, module} <- module(opts, store),
         {:ok, links} <- Wasmex.Links.flatten(Keyword.get(opts, :links, %{}), store) do
      {:ok,
       Kind.recipe(new_store, module, opts, %{
         links: links,
         log: GuestOutput.wanted?(store.resource),
         run_store: if(links == [], do: run_store)
       })}
    end
  end

  @impl true
  def compile(store, bytes, _recipe), do: Module.compile(store, bytes)

  @impl true
  def build(recipe) do
    with {:ok, store} <- recipe.new_store.(), do: instantiate(recipe, store, recipe.code)
  end

  @impl true
  # A member for one call: from the run engine's pool of slots while one is free (a module of
  # the default engine, in a plain or WASI store without preopens, no links), else as `build/1`.
  # `:collect` says the member holds a slot of that pool (its code is the module's twin there):
  # the member process collects its garbage once it is done with it (`Wasmex.Pool.Member`).
  def build_fresh(%{run_store: run, code: %Module{resource: module}} = recipe)
      when is_function(run, 1) do
    with {:ok, {store, code}} <- run.(module),
         {:ok, member} <- instantiate(recipe, StoreOrCaller.wrap(store), Module.wrap(code)),
         do: {:ok, Map.put(member, :collect, code != module)}
  end

  def build_fresh(recipe), do: build(recipe)

  defp instantiate(recipe, store, code) do
    with {:ok, instance} <-
           Instance.new(store, code, recipe.imports, recipe.links, recipe.timeout) do
      output = if recipe.log, do: store.resource
      {:ok, %{recipe_id: recipe.id, store: store, instance: instance, output: output}}
    end
  end

  @impl true
  def run(%{store: store, instance: instance}, name, params, timeout) do
    case Instance.call(store, instance, name, params, timeout) do
      {:ok, _} = ok ->
        {ok, :keep}

      error ->
        # A call of a function that is not exported never entered the guest.
        if Instance.function_export_exists(store, instance, name),
          do: {error, :replace},
          else: {error, :keep}
    end
  end

  defp module(opts, store) do
    case {Kind.bytes(opts), opts[:module]} do
      {{:ok, bytes}, _} -> Module.compile(store, bytes)
      {:none, %Module{} = module} -> {:ok, module}
      _ -> raise ArgumentError, "pools need one of :bytes, :path or :module"
    end
  end

  # Member stores, and how a fresh member's store is made on the run engine instead
  # (`store_new_wasi_run`, `nil` where it cannot be): renewed from `:store` (same engine, limits
  # and WASI; never on the run engine), or made from `:wasi` (on the run engine without preopens).
  defp store_makers(opts) do
    case {opts[:store], Keyword.get(opts, :wasi, false)} do
      {%StoreOrCaller{resource: resource}, _} ->
        renew = fn ->
          with {:ok, fresh} <- Native.store_renew(resource), do: {:ok, StoreOrCaller.wrap(fresh)}
        end

        {renew, nil}

      {nil, wasi} when wasi in [false, nil] ->
        {&Store.new/0, &Native.store_new_wasi_run(nil, nil, &1)}

      {nil, true} ->
        store_makers(Keyword.put(opts, :wasi, %WasiOptions{}))

      {nil, %WasiOptions{preopen: []} = wasi} ->
        options = WasiOptions.normalize(wasi)
        {fn -> Store.new_wasi(wasi) end, &Native.store_new_wasi_run(options, nil, &1)}

      {nil, %WasiOptions{} = wasi} ->
        {fn -> Store.new_wasi(wasi) end, nil}

      {nil, other} ->
        raise ArgumentError,
              "option :wasi must be a boolean or %Wasmex.Wasi.WasiOptions{}, got: #{inspect(other)}"

      {other, _} ->
        raise ArgumentError,
              "option :store must be a %Wasmex.StoreOrCaller{}, got: #{inspect(other)}"
    end
  end
end
