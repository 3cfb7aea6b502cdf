defmodule Wasmex.Components.HostResource do
  @moduledoc ~S"""
  Implements in Elixir a resource that a component imports.

      defmodule MyApp.Logger do
        use Wasmex.Components.HostResource,
          wit_path: "priv/wit/host.wit",
          resource: "logger"

        # constructor(prefix: string)
        def new(prefix), do: %{prefix: prefix}
        # log: func(msg: string) -> string  (methods get the resource's term first)
        def log(logger, msg), do: logger.prefix <> msg
        # count: func() -> u32
        def count(_logger), do: 0
        # static make-default: func() -> logger
        def make_default, do: %{prefix: "default: "}
        # called when the guest drops a handle it owns (optional; the default returns :ok)
        def drop(_logger), do: :ok
      end

      {:ok, pid} = Wasmex.Components.start_link(path: "priv/user.wasm", imports: MyApp.Logger.imports())

  The value of a resource is any term: the constructor's result (or any import result of type
  `own<logger>`, also nested in lists, tuples, records, options, results and variants) becomes
  a new handle owned by the guest. A method gets the term back. An import taking `borrow<logger>`
  gets the term and the handle stays the guest's; one taking `own<logger>` gets the term and the
  handle is gone (`drop/1` is not called for it). When the guest drops a handle it owns,
  `drop/1` is called with the term; if it raises, the call that dropped it fails. Import
  callbacks run in the process that drives the call (the `Wasmex.Components` server).

  Options of `use`:
    * `:wit` (WIT source text) or `:wit_path` (a file or a directory, with its `deps/`, relative
      to the project root; each of its files is an `@external_resource`): exactly one is needed;
    * `:resource` — the resource's name;
    * `:world` — picks one of several worlds;
    * `:interface` — picks among resources of the same name in several imported interfaces (the
      interface's name or the name it is imported under).

  Callbacks: the constructor is `new/n`; a method `m(self, a, b)` is `m/3`; a static `s(a)` is
  `s/1`, with `-` in WIT names turned into `_`. A missing callback is a compile error. The
  generated `imports/0` gives the import map; combine several with `merge_imports/1`.
  """

  @doc false
  defmacro __using__(opts) do
    Wasmex.Components.HostResource.Codegen.build(opts)
  end

  @doc """
  Merges import maps and the `imports/0` of `HostResource` modules, two levels deep: the
  functions and resources of one interface are combined.

      iex> Wasmex.Components.HostResource.merge_imports([
      ...>   %{"my:pkg/api" => %{"a" => {:fn, &Function.identity/1}}},
      ...>   %{"my:pkg/api" => %{"b" => {:fn, &Function.identity/1}}, "root" => {:fn, &Function.identity/1}}
      ...> ]) |> Map.new(fn {k, v} -> {k, if(is_map(v), do: Map.keys(v), else: :fn)} end)
      %{"my:pkg/api" => ["a", "b"], "root" => :fn}
  """
  @spec merge_imports([module() | map()]) :: map()
  def merge_imports(sources) when is_list(sources) do
    Enum.reduce(sources, %{}, fn source, acc ->
      Map.merge(acc, imports_of(source), fn
        _name, left, right when is_map(left) and is_map(right) -> Map.merge(left, right)
        _name, _left, right -> right
      end)
    end)
  end

  defp imports_of(map) when is_map(map), do: map

  defp imports_of(module) when is_atom(module) do
    if Code.ensure_loaded?(module) and function_exported?(module, :imports, 0) do
      module.imports()
    else
      raise ArgumentError,
            "merge_imports/1 takes modules using HostResource and import maps, got: #{inspect(module)}"
    end
  end

  defp imports_of(other) do
    raise ArgumentError,
          "merge_imports/1 takes modules using HostResource and import maps, got: #{inspect(other)}"
  end
end
