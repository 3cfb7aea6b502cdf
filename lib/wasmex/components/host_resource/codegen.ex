defmodule Wasmex.Components.HostResource.Codegen do
  @moduledoc false
  # What `use Wasmex.Components.HostResource` generates, from the resource's WIT: `imports/0`,
  # an overridable `drop/1`, and a compile-time check that every callback is defined. The
  # options are evaluated in the module body (so `wit: @wit` works).

  alias Wasmex.Components.{HostResource, Wit}

  @doc false
  @spec build(keyword()) :: Macro.t()
  def build(opts) do
    opts = Keyword.validate!(opts, [:wit, :wit_path, :resource, :world, :interface])

    # Evaluated in the module body, so `wit: @wit` works.
    quote bind_quoted: [opts: opts] do
      {info, files} = Wasmex.Components.HostResource.Codegen.setup!(opts, __ENV__)
      for file <- files, do: @external_resource(file)
      @__wasmex_host_resource__ info
      @before_compile Wasmex.Components.HostResource.Codegen

      @doc "The import map implementing `#{info.name}` (pass it as `:imports`)."
      @spec imports() :: map()
      def imports,
        do: Wasmex.Components.HostResource.Codegen.imports(__MODULE__, @__wasmex_host_resource__)

      @doc "Called with a resource's term when the guest drops it; returns `:ok` by default."
      @spec drop(term()) :: term()
      def drop(_resource), do: :ok
      defoverridable drop: 1
    end
  end

  @doc false
  # The resource's description and the files to track; raises CompileError or ArgumentError.
  @spec setup!(keyword(), Macro.Env.t()) :: {Wit.info(), [Path.t()]}
  def setup!(opts, env) do
    {source, files} = source!(opts)

    name = Wit.resource_name!(opts[:resource])

    find = [world: opts[:world], interface: opts[:interface]]

    result =
      case source do
        {:wit, wit} ->
          HostResource.Discovery.get_resource_from_wit(wit, name, find ++ [path: env.file])

        {:path, path} ->
          HostResource.Discovery.get_resource_from_path(path, name, find)
      end

    reserved = %{drop: "`drop/1` is the destructor", imports: "`imports/0` is generated"}
    {Wit.checked!(result, "imported resource `#{name}`", reserved, env), files}
  end

  @doc false
  # The import map of the generated `imports/0`: each function's callback and the destructor.
  @spec imports(module(), Wit.info()) :: map()
  def imports(module, info) do
    functions =
      Map.new(info.functions, fn f ->
        {f.canonical_name,
         {:fn, Function.capture(module, Wit.function_name(f), callback_arity(f))}}
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
          name = Wit.function_name(f),
          not Module.defines?(env.module, {name, arity}, :def),
          do: "#{name}/#{arity}"

    if missing != [] do
      Wit.compile_error!(
        env,
        "Missing host resource callbacks: " <> Enum.join(missing, ", ")
      )
    end

    :ok
  end
end
