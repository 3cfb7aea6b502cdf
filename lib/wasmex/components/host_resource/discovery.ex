defmodule Wasmex.Components.HostResource.Discovery do
  @moduledoc ~S"""
  Finds the resources a component imports, from its WIT: the ones the host implements with
  `use Wasmex.Components.HostResource`.

      iex> wit = "package my:pkg; interface host { resource logger { constructor(prefix: string); log: func(msg: string); } } world w { import host; }"
      iex> {:ok, [info]} = Wasmex.Components.HostResource.Discovery.from_wit(wit)
      iex> {info.name, info.interface_path}
      {"logger", ["my:pkg/host"]}
      iex> Enum.map(info.functions, &{&1.canonical_name, &1.elixir_name, &1.arity})
      [{"[constructor]logger", "constructor", 1}, {"[method]logger.log", "log", 1}]
  """

  alias Wasmex.Components.Wit

  @type info :: Wit.info()
  @type function_info :: Wit.function_info()

  @doc """
  The resources of the interfaces imported by the world of `wit` (WIT source text). Options:
  `path:` names the source in errors (default `"wit"`), `world:` picks one of several worlds.

      iex> Wasmex.Components.HostResource.Discovery.from_wit("package my:pkg; world w {}")
      {:ok, []}
  """
  @spec from_wit(binary(), keyword()) :: {:ok, [info()]} | {:error, binary()}
  def from_wit(wit, opts \\ []) when is_binary(wit) do
    opts = Keyword.validate!(opts, path: "wit", world: nil)
    Wit.list({:wit, opts[:path], wit}, opts[:world], :imports)
  end

  @doc """
  The same, reading the WIT package from a file or a directory (with its `deps/` folder).

      iex> Wasmex.Components.HostResource.Discovery.from_path("test/fixtures/components/missing.wit")
      ...> |> elem(0)
      :error
  """
  @spec from_path(Path.t(), keyword()) :: {:ok, [info()]} | {:error, binary()}
  def from_path(path, opts \\ []) do
    opts = Keyword.validate!(opts, world: nil)
    Wit.list({:path, to_string(path)}, opts[:world], :imports)
  end

  @doc """
  The imported resource `name` (a string or an atom) of `wit`: `{:ok, info}`, `{:error, :not_found}` or
  `{:error, message}` (several imported interfaces have a resource of that name: pass
  `interface:`, the interface's name or the name it is imported under).

      iex> wit = "package my:pkg; interface host { resource logger { log: func(msg: string); } } world w { import host; }"
      iex> {:ok, %{name: "logger"}} = Wasmex.Components.HostResource.Discovery.get_resource_from_wit(wit, "logger")
      iex> {:ok, %{name: "logger"}} = Wasmex.Components.HostResource.Discovery.get_resource_from_wit(wit, :logger)
  """
  @spec get_resource_from_wit(binary(), String.t() | atom(), keyword()) ::
          {:ok, info()} | {:error, :not_found | binary()}
  def get_resource_from_wit(wit, name, opts \\ []) when is_binary(name) or is_atom(name),
    do: find(&from_wit(wit, &1), name, opts)

  @doc """
  `get_resource_from_wit/3` for a WIT file or directory.

      iex> Wasmex.Components.HostResource.Discovery.get_resource_from_path("test/fixtures/components/types.wit", "logger")
      {:error, :not_found}
  """
  @spec get_resource_from_path(Path.t(), String.t() | atom(), keyword()) ::
          {:ok, info()} | {:error, :not_found | binary()}
  def get_resource_from_path(path, name, opts \\ []) when is_binary(name) or is_atom(name),
    do: find(&from_path(path, &1), name, opts)

  # `list` reads the resources with the options besides `:interface`.
  defp find(list, name, opts) do
    {interface, opts} = Keyword.pop(opts, :interface)

    with {:ok, infos} <- list.(opts) do
      case Wit.pick(infos, name, interface) do
        {:error, {:ambiguous, name}} ->
          {:error, "Multiple imported resources are named `#{name}`; pass the :interface option"}

        found ->
          found
      end
    end
  end
end
