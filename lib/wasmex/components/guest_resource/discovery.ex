defmodule Wasmex.Components.GuestResource.Discovery do
  @moduledoc ~S"""
  Finds the resources a component exports, from its WIT: their interface, constructor and
  functions. `use Wasmex.Components.GuestResource` builds on it.

      iex> wit = "package my:pkg; interface api { resource counter { constructor(n: u32); get: func() -> u32; } } world w { export api; }"
      iex> {:ok, [info]} = Wasmex.Components.GuestResource.Discovery.from_wit(wit)
      iex> {info.name, info.constructor_path}
      {"counter", ["my:pkg/api", "counter"]}
      iex> Enum.map(info.functions, &{&1.elixir_name, &1.kind, &1.arity})
      [{"constructor", :constructor, 1}, {"get", :method, 0}]
  """

  alias Wasmex.Components.Wit

  # Without `canonical_name` in functions; with `constructor_path`.
  @type info :: Wit.info()
  @type function_info :: Wit.function_info()

  @doc """
  The resources of the interfaces exported by the world of `wit` (WIT source text). Options:
  `path:` names the source in errors (default `"wit"`), `world:` picks one of several worlds.
  A method's arity leaves out `self`.

      iex> Wasmex.Components.GuestResource.Discovery.from_wit("package my:pkg; world w {}")
      {:ok, []}
  """
  @spec from_wit(binary(), keyword()) :: {:ok, [info()]} | {:error, binary()}
  def from_wit(wit, opts \\ []) when is_binary(wit) do
    opts = Keyword.validate!(opts, path: "wit", world: nil)

    with {:ok, infos} <- Wit.list({:wit, opts[:path], wit}, opts[:world], :exports) do
      {:ok, Enum.map(infos, &shape/1)}
    end
  end

  @doc """
  The exported resource `name` of `wit`: `{:ok, info}`, `{:error, :not_found}` or
  `{:error, message}`. `name` is a string or an atom. Takes the options of `from_wit/2` and
  `interface:` (the interface's name or the name it is exported under) to pick among resources of
  the same name.

      iex> wit = "package my:pkg; interface api { resource counter { get: func() -> u32; } } world w { export api; }"
      iex> {:ok, %{name: "counter"}} = Wasmex.Components.GuestResource.Discovery.get_resource_from_wit(wit, "counter")
      iex> {:ok, %{name: "counter"}} = Wasmex.Components.GuestResource.Discovery.get_resource_from_wit(wit, :counter)
      iex> Wasmex.Components.GuestResource.Discovery.get_resource_from_wit(wit, "nope")
      {:error, :not_found}
  """
  @spec get_resource_from_wit(binary(), String.t() | atom(), keyword()) ::
          {:ok, info()} | {:error, :not_found | binary()}
  def get_resource_from_wit(wit, name, opts \\ []) when is_binary(name) or is_atom(name) do
    {interface, opts} = Keyword.pop(opts, :interface)

    with {:ok, infos} <- from_wit(wit, opts) do
      pick(infos, name, interface)
    end
  end

  @doc false
  # `Wit.pick/3` with this module's wording of an ambiguous name (also for the `use` macro).
  @spec pick([Wit.info()], binary() | atom(), binary() | nil) ::
          {:ok, Wit.info()} | {:error, :not_found | binary()}
  def pick(infos, name, interface) do
    case Wit.pick(infos, name, interface) do
      {:error, {:ambiguous, name}} ->
        {:error, "Multiple resources are named `#{name}`; pass the :interface option"}

      found ->
        found
    end
  end

  @doc false
  @spec shape(Wit.info()) :: info()
  def shape(info) do
    functions = Enum.map(info.functions, &Map.delete(&1, :canonical_name))

    info
    |> Map.put(:functions, functions)
    |> Map.put(:constructor_path, info.interface_path ++ [info.name])
  end
end
