defmodule Wasmex.Pool.Component do
  @moduledoc false
  # The pool kind for components (`Wasmex.Components.Pool`). Members are made like
  # `Wasmex.Components.start_link/1` makes its instance: a store per member (renewed from
  # `:store`, or made from `:wasi` and `:store_limits`), the component compiled once, `:imports`,
  # `:timeout` for instantiation, `:list_u8` for compiling (kept in the recipe for reloads). A
  # member whose instance a trap or a stopped call broke
  # (`Wasmex.Components.Instance.poisoned?/1`) is replaced.

  @behaviour Wasmex.Pool.Kind

  alias Wasmex.Components.{Component, Instance, Store}
  alias Wasmex.GuestOutput
  alias Wasmex.Pool.Kind
  alias Wasmex.Wasi.WasiP2Options

  @impl true
  def prepare(opts) do
    bytes =
      case Kind.bytes(opts) do
        {:ok, bytes} -> bytes
        :none -> raise ArgumentError, "Either :bytes or :path must be provided"
      end

    new_store = store_maker(opts)
    list_u8 = Keyword.get(opts, :list_u8, :list)

    with {:ok, store} <- new_store.(),
         {:ok, component} <- compile(store, bytes, %{list_u8: list_u8}) do
      extra = %{log: GuestOutput.wanted?(store.resource), list_u8: list_u8}
      {:ok, Kind.recipe(new_store, component, opts, extra)}
    end
  end

  @impl true
  def build(recipe) do
    with {:ok, store} <- recipe.new_store.(),
         {:ok, instance} <-
           Instance.new(store, recipe.code, recipe.imports, recipe.timeout) do
      output = if recipe.log, do: store.resource
      {:ok, %{recipe_id: recipe.id, instance: instance, output: output}}
    end
  end

  @impl true
  def build_fresh(recipe), do: build(recipe)

  @impl true
  def run(%{instance: instance}, path, params, timeout) do
    case Instance.call(instance, path, params, timeout) do
      {:error, _} = error -> {error, if(Instance.poisoned?(instance), do: :replace, else: :keep)}
      result -> {result, :keep}
    end
  end

  # A WIT package raises in `Component.new/2`; a pool start returns it, as the server does.
  @impl true
  def compile(store, bytes, %{list_u8: list_u8}) do
    Component.new(store, bytes, list_u8: list_u8)
  rescue
    e in ErlangError ->
      case e.original do
        reason when is_atom(reason) -> {:error, Atom.to_string(reason)}
        _ -> reraise e, __STACKTRACE__
      end
  end

  defp store_maker(opts) do
    case opts[:store] do
      %Store{} = store ->
        fn -> Store.renew(store) end

      nil ->
        limits = opts[:store_limits] || %Wasmex.StoreLimits{}

        case opts[:wasi] do
          %WasiP2Options{} = wasi ->
            fn -> Store.new_wasi(wasi, limits) end

          nil ->
            fn -> Store.new(limits) end

          other ->
            raise ArgumentError,
                  "option :wasi must be a %Wasmex.Wasi.WasiP2Options{}, got: #{inspect(other)}"
        end

      other ->
        raise ArgumentError,
              "option :store must be a %Wasmex.Components.Store{}, got: #{inspect(other)}"
    end
  end
end
