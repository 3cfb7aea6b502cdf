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

  alias Wasmex.Components.{HostResource, WitResources}

  @doc false
  defmacro __using__(opts) do
    opts = Keyword.validate!(opts, [:wit, :wit_path, :resource, :world, :interface])

    # Evaluated in the module body, so `wit: @wit` works.
    quote bind_quoted: [opts: opts] do
      {info, files} = Wasmex.Components.HostResource.__setup__(opts, __ENV__)
      for file <- files, do: @external_resource(file)
      @__wasmex_host_resource__ info
      @before_compile Wasmex.Components.HostResource

      @doc "The import map implementing `#{info.name}` (pass it as `:imports`)."
      @spec imports() :: map()
      def imports,
        do: Wasmex.Components.HostResource.__imports__(__MODULE__, @__wasmex_host_resource__)

      @doc "Called with a resource's term when the guest drops it; returns `:ok` by default."
      @spec drop(term()) :: term()
      def drop(_resource), do: :ok
      defoverridable drop: 1
    end
  end

  @doc false
  # The resource's description and the files to track; raises CompileError or ArgumentError.
  @spec __setup__(keyword(), Macro.Env.t()) :: {WitResources.info(), [Path.t()]}
  def __setup__(opts, env) do
    {source, files} = source!(opts)

    name = WitResources.resource_name!(opts[:resource])

    find = [world: opts[:world], interface: opts[:interface]]

    result =
      case source do
        {:wit, wit} ->
          HostResource.Discovery.get_resource_from_wit(wit, name, find ++ [path: env.file])

        {:path, path} ->
          HostResource.Discovery.get_resource_from_path(path, name, find)
      end

    reserved = %{drop: "`drop/1` is the destructor", imports: "`imports/0` is generated"}
    {WitResources.checked!(result, "imported resource `#{name}`", reserved, env), files}
  end

  @doc false
  @spec __imports__(module(), WitResources.info()) :: map()
  def __imports__(module, info) do
    functions =
      Map.new(info.functions, fn f ->
        {f.canonical_name, {:fn, Function.capture(module, f.elixir_name, callback_arity(f))}}
      end)

    [interface] = info.interface_path
    %{interface => Map.put(functions, info.name, {:resource, Function.capture(module, :drop, 1)})}
  end

  defp source!(opts) do
    case {opts[:wit], opts[:wit_path]} do
      {nil, nil} ->
        raise ArgumentError, "use Wasmex.Components.HostResource needs :wit or :wit_path"

      {wit, nil} when is_binary(wit) ->
        {{:wit, wit}, []}

      {wit, nil} ->
        raise ArgumentError, ":wit must be WIT source text, got: #{inspect(wit)}"

      {nil, path} when is_binary(path) ->
        path = Path.expand(path)
        files = if File.dir?(path), do: Path.wildcard(Path.join(path, "**/*.wit")), else: [path]
        {{:path, path}, files}

      {nil, other} ->
        raise ArgumentError, ":wit_path must be a path, got: #{inspect(other)}"

      _ ->
        raise ArgumentError,
              "use Wasmex.Components.HostResource takes :wit or :wit_path, not both"
    end
  end

  defp callback_arity(%{kind: kind, arity: arity}) when kind in [:method, :async_method],
    do: arity + 1

  defp callback_arity(%{arity: arity}), do: arity

  @doc false
  defmacro __before_compile__(env) do
    info = Module.get_attribute(env.module, :__wasmex_host_resource__)

    missing =
      for f <- info.functions,
          arity = callback_arity(f),
          not Module.defines?(env.module, {f.elixir_name, arity}, :def),
          do: "#{f.elixir_name}/#{arity}"

    if missing != [] do
      WitResources.compile_error!(
        env,
        "Missing host resource callbacks: " <> Enum.join(missing, ", ")
      )
    end

    :ok
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
